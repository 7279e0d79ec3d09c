"""Fixtures: the plugins (the core's built-ins and this distribution, through their real entry
points), a real PostgreSQL server started for the session (the core's test kit's), and one fresh
database per test on each backend."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from itertools import count
from pathlib import Path

import pytest

from orchestrator.plugins.discovery import Plugins, load_plugins
from orchestrator.testing.postgresql import PostgresServer
from sql_helpers import LOAD_PLUGINS, Backend

_schemas = count(1)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The start-up cache of the whole test session, kept away from the user's own."""
    return tmp_path_factory.mktemp("orchestrator-cache")


@pytest.fixture(autouse=True)
def _only_these_plugins(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    """Whatever else is installed in the environment cannot change the outcome."""
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", LOAD_PLUGINS)
    monkeypatch.setenv("ORCHESTRATOR_CACHE_DIR", str(cache_dir))
    for name in ("ORCHESTRATOR_NO_CACHE", "ORCHESTRATOR_DISABLE_PLUGINS", "ORCHESTRATOR_STRICT_PLUGINS", "ORCHESTRATOR_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    loaded = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS})
    assert loaded.registry.problems == [], loaded.registry.problems
    return loaded


@pytest.fixture(scope="session")
def postgres(postgresql_server: PostgresServer) -> PostgresServer:
    """A real PostgreSQL server on 127.0.0.1, for the whole session. Missing binaries fail the
    tests that need it, with what to install: these tests are not optional."""
    return postgresql_server


@pytest.fixture
def pg(postgres: PostgresServer) -> Backend:
    """A fresh PostgreSQL schema of this test's own."""
    return Backend.postgresql(postgres, postgres.create_schema(f"test_{next(_schemas)}"))


@pytest.fixture
def lite(tmp_path: Path) -> Backend:
    """A SQLite database file of this test's own."""
    return Backend.sqlite(tmp_path / "db" / "test.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each test that takes it runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("lite" if request.param == "sqlite" else "pg")


@pytest.fixture
def write_files(tmp_path: Path) -> Callable[..., Path]:
    """Write (dedented) files into the test's directory: ``pipeline.yaml`` and side files."""

    def write(config: str, **files: str) -> Path:
        for name, content in files.items():
            target = tmp_path / name.replace("__", "/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(content))
        path = tmp_path / "pipeline.yaml"
        path.write_text(textwrap.dedent(config))
        return path

    return write
