"""Fixtures for the Arrow plugin's tests: real pipelines through the real engine, with exactly the
built-in steps and this plugin loaded through their installed entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.events import RunResult
from orchestrator.plugins.discovery import Plugins, load_plugins

PLUGIN_ENV = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,arrow"}
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The core's start-up cache for this session, away from the user's own."""
    return tmp_path_factory.mktemp("orchestrator-cache")


@pytest.fixture(autouse=True)
def _only_builtin_and_arrow(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    """Other installed plugins must not change what these tests see."""
    monkeypatch.setenv(
        "ORCHESTRATOR_LOAD_PLUGINS", PLUGIN_ENV["ORCHESTRATOR_LOAD_PLUGINS"]
    )
    monkeypatch.setenv("ORCHESTRATOR_CACHE_DIR", str(cache_dir))
    for name in (
        "ORCHESTRATOR_DISABLE_PLUGINS",
        "ORCHESTRATOR_STRICT_PLUGINS",
        "ORCHESTRATOR_TRACE_PLUGINS",
        "ORCHESTRATOR_NO_CACHE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    loaded = load_plugins(PLUGIN_ENV)
    assert not loaded.registry.problems, loaded.registry.problems
    return loaded


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a (dedented) text file under the test's directory, creating folders."""

    def write_file(name: str, text: str) -> Path:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return target

    return write_file


@pytest.fixture
def run(tmp_path: Path, plugins: Plugins) -> Callable[..., RunResult]:
    """Write a pipeline config and run it in-process through the engine."""

    def run_config(config: str, name: str = "pipeline.yaml") -> RunResult:
        path = tmp_path / name
        path.write_text(textwrap.dedent(config), encoding="utf-8")
        plan = load_plan(path, plugins.registry)
        return Engine(plan, plugins).run_sync()

    return run_config


@pytest.fixture
def failure(run: Callable[..., RunResult]) -> Callable[[str], str]:
    """Run a config that must fail; return its pipeline's one-line error."""

    def error_of(config: str) -> str:
        result = run(config)
        assert not result.ok
        (outcome,) = result.pipelines.values()
        assert outcome.error is not None and "\n" not in outcome.error
        return outcome.error

    return error_of


def cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The installed ``orchestrator`` console script, as a user runs it."""
    env = {**os.environ, **PLUGIN_ENV}
    return subprocess.run(
        [str(BIN / "orchestrator"), *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture
def orchestrator() -> Callable[..., subprocess.CompletedProcess[str]]:
    return cli


def pipeline(extract: str, load: str, transform: str | None = None) -> str:
    """A one-pipeline ETL config from flow-style step mappings (one per phase, or a list)."""
    phases = [f"      extract:\n        steps: [{extract}]"]
    if transform:
        phases.append(f"      transform:\n        steps: [{transform}]")
    phases.append(f"      load:\n        steps: [{load}]")
    return "pipelines:\n  p:\n    type: ETL\n    phases:\n" + "\n".join(phases) + "\n"


@pytest.fixture
def config() -> Callable[..., str]:
    return pipeline
