"""Fixtures: a real HTTP server per test, and pipelines run through the real engine with the
built-in steps and this distribution's ``http`` entry point (nothing else that may be installed)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.events import RunResult
from orchestrator.plugins.discovery import Plugins, load_plugins

from api_server import ApiServer
from support import PLUGINS_ENV



@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The orchestrator's start-up cache for this session, away from the user's own."""
    return tmp_path_factory.mktemp("orchestrator-cache")


@pytest.fixture(autouse=True)
def _plugin_environment(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", PLUGINS_ENV["ORCHESTRATOR_LOAD_PLUGINS"])
    monkeypatch.setenv("ORCHESTRATOR_CACHE_DIR", str(cache_dir))
    for name in ("ORCHESTRATOR_DISABLE_PLUGINS", "ORCHESTRATOR_STRICT_PLUGINS", "ORCHESTRATOR_TRACE_PLUGINS", "ORCHESTRATOR_NO_CACHE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api() -> Iterator[ApiServer]:
    """A fresh server (fresh request log and counters) for each test."""
    server = ApiServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    loaded = load_plugins(PLUGINS_ENV)
    assert not loaded.registry.problems, loaded.registry.problems
    return loaded


@dataclass
class Ran:
    """A finished in-process run and the directory it ran in."""

    result: RunResult
    directory: Path

    @property
    def error(self) -> str:
        """Pipeline ``p``'s one-line error ("" when it succeeded)."""
        return self.result.pipelines["p"].error or ""

    def jsonl(self, name: str = "out/rows.jsonl") -> list[Any]:
        return [json.loads(line) for line in (self.directory / name).read_text().splitlines()]


RunPipeline = Callable[..., Ran]


@pytest.fixture
def run_pipeline(tmp_path: Path, plugins: Plugins, api: ApiServer) -> RunPipeline:
    """Write a config (``${API_BASE_URL}`` is the test server) and run it with the engine."""

    def run(text: str, env: dict[str, str] | None = None) -> Ran:
        config = tmp_path / "pipeline.yaml"
        config.write_text(textwrap.dedent(text))
        plan = load_plan(config, plugins.registry, env={"API_BASE_URL": api.url, **(env or {})})
        return Ran(Engine(plan, plugins).run_sync(), tmp_path)

    return run
