"""Fixtures for the dask plugin's tests: the hookfile test distribution installed for the session,
a real Dask scheduler with two real worker processes on 127.0.0.1, and pipelines run through the
real engine with exactly the built-in steps, hookfile and this plugin loaded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from orchestrator.plugins.discovery import Plugins, load_plugins

from dask_support import HOOKFILE, PLUGINS, Cluster, start_cluster

PIP = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The core's start-up cache for this session (and its workers), away from the user's own."""
    return tmp_path_factory.mktemp("orchestrator-cache")


@pytest.fixture(scope="session")
def hook_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the hookfile plugin writes ``pid pipeline step`` for every finished step, in this
    process and in every worker (tests tell their lines apart by pipeline name)."""
    return tmp_path_factory.mktemp("hooks") / "hooks.txt"


@pytest.fixture(scope="session")
def hookfile_installed() -> Iterator[None]:
    """A real plugin distribution with a lifecycle hook, installed before any worker starts."""
    subprocess.run([*PIP, "install", "--no-deps", str(HOOKFILE)], check=True)
    try:
        yield
    finally:
        subprocess.run([*PIP, "uninstall", "--yes", "orchestrator-plugin-hookfile"], check=True)


@pytest.fixture(scope="session")
def worker_env(cache_dir: Path, hook_trace: Path, hookfile_installed: None) -> dict[str, str]:
    """The environment of scheduler and worker processes: the same plugin selection, cache and
    hook trace as the tests (workers are separate processes: they see only what they start with)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    return env | {"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS, "ORCHESTRATOR_CACHE_DIR": str(cache_dir), "HOOKFILE_PATH": str(hook_trace)}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, worker_env: dict[str, str]) -> Iterator[Cluster]:
    """A scheduler and two single-threaded workers shared by the session's tests."""
    running = start_cluster(tmp_path_factory.mktemp("cluster"), worker_env)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _plugin_environment(
    monkeypatch: pytest.MonkeyPatch, cache_dir: Path, hook_trace: Path, hookfile_installed: None
) -> None:
    """Other installed plugins must not change what these tests see; the RemoteJob each pipeline
    ships carries this selection to the workers."""
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", PLUGINS)
    monkeypatch.setenv("ORCHESTRATOR_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("HOOKFILE_PATH", str(hook_trace))
    for name in ("ORCHESTRATOR_DISABLE_PLUGINS", "ORCHESTRATOR_STRICT_PLUGINS", "ORCHESTRATOR_TRACE_PLUGINS",
                 "ORCHESTRATOR_NO_CACHE", "DASK_SCHEDULER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def plugins(_plugin_environment: None) -> Plugins:
    loaded = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS})
    assert not loaded.registry.problems, loaded.registry.problems
    return loaded


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a YAML config (and side files such as step modules) into the test's directory."""

    def write(text: str, name: str = "pipeline.yaml", **files: str) -> Path:
        for file_name, content in files.items():
            (tmp_path / file_name).write_text(textwrap.dedent(content))
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
