"""The test kit's pytest fixtures, registered through the core's ``pytest11`` entry point.

Importing this module costs next to nothing: everything heavier is imported by the fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from orchestrator.plugins.discovery import Plugins
    from orchestrator.testing import PipelineRun
    from orchestrator.testing.hooks import HookRecorder
    from orchestrator.testing.postgresql import PostgresServer


@pytest.fixture
def orchestrator_plugins() -> Plugins:
    """The installed plugins, loaded through their entry points as ``orchestrator run`` would
    (``ORCHESTRATOR_LOAD_PLUGINS`` and the other variables apply). Fresh for every test."""
    from orchestrator.plugins.discovery import load_plugins

    return load_plugins()


@pytest.fixture
def register_plugin(orchestrator_plugins: Plugins) -> Callable[..., None]:
    """``register_plugin(obj, name="...")`` adds a plugin object (a module or an instance with
    ``@hookimpl`` methods) to this test's plugins only."""
    from orchestrator.plugins.registry import Origin

    def register(plugin: Any, name: str = "test-plugin", distribution: str = "tests", version: str = "0") -> None:
        if not orchestrator_plugins.add(plugin, Origin(name, distribution, version)):
            raise AssertionError(f"plugin {name!r} did not register: {orchestrator_plugins.registry.problems[-1]}")

    return register


@pytest.fixture
def run_pipeline(orchestrator_plugins: Plugins, tmp_path: Path) -> Callable[..., PipelineRun]:
    """``run_pipeline(config, params=None, env=None, files=None)``: run a YAML string or dict
    in-process in this test's temporary directory; returns a :class:`~orchestrator.testing.PipelineRun`
    with the result and what every step received and returned."""
    from orchestrator.testing import run_pipeline as run

    def runner(config: str | dict[str, Any], **options: Any) -> PipelineRun:
        return run(config, orchestrator_plugins, options.pop("base_dir", tmp_path), **options)

    return runner


@pytest.fixture
def hook_recorder(register_plugin: Callable[..., None]) -> HookRecorder:
    """Records every lifecycle hook call of the test's pipeline runs, in order."""
    from orchestrator.testing.hooks import HookRecorder

    recorder = HookRecorder()
    register_plugin(recorder, name="hook-recorder")
    return recorder


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1 for the whole test session, removed afterwards:
    ``.url(schema)``, ``.create_schema(name)``, ``.create_database(name)``, ``.connect()``. When
    the server binaries are missing, the tests that use it fail, saying what to install."""
    import shutil

    from orchestrator.testing.postgresql import start_server

    try:
        server = start_server()
    except LookupError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
