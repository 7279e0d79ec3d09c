"""Helpers: running a pipeline in-process or through the installed CLI, and a database of each
backend with the tests' own way (sqlite3, psycopg) to set up and read back tables, independent of
the code under test."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.events import RunResult
from orchestrator.plugins.discovery import Plugins
from orchestrator.testing.postgresql import PostgresServer

LOAD_PLUGINS = "builtin,sql"
BIN = Path(sys.executable).parent


def run(path: Path, plugins: Plugins, env: Mapping[str, str] | None = None) -> RunResult:
    """Validate and run a pipeline file in this process, ``env`` added to the environment."""
    plan = load_plan(path, plugins.registry, env={**os.environ, **(env or {})})
    return Engine(plan, plugins).run_sync()


def error_of(result: RunResult, pipeline: str = "p") -> str:
    outcome = result.pipelines[pipeline]
    assert not result.ok and outcome.error, f"the pipeline was expected to fail: {outcome}"
    return outcome.error


def cli(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``orchestrator`` console script, as a real subprocess."""
    full_env = {**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS, **(env or {})}
    return subprocess.run([str(BIN / "orchestrator"), *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


@dataclass
class Backend:
    """A database of one test: its URL for the steps, and direct access for the test itself."""

    name: str
    url: str
    fetch: Callable[[str], list[tuple[Any, ...]]]
    run_sql: Callable[[str], None]
    tables: Callable[[], set[str]]
    shown: str  # how messages name the database: the driver made explicit, the password masked

    @classmethod
    def postgresql(cls, server: PostgresServer, schema: str) -> Backend:
        """The test's own schema, which its connections (and the steps', by the URL) work in."""

        def fetch(sql: str) -> list[tuple[Any, ...]]:
            with server.connect(schema) as connection:
                return connection.execute(sql).fetchall()  # type: ignore[arg-type]

        def run_sql(sql: str) -> None:
            with server.connect(schema) as connection:
                connection.execute(sql)  # type: ignore[arg-type]

        def tables() -> set[str]:
            return {name for (name,) in fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}

        shown = server.url(schema, password="***").replace("postgresql://", "postgresql+psycopg://")
        return cls("postgresql", server.url(schema), fetch, run_sql, tables, shown)

    @classmethod
    def sqlite(cls, path: Path) -> Backend:
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()  # the file exists, as a database to read from would

        def fetch(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(path) as connection:
                return connection.execute(sql).fetchall()

        def run_sql(sql: str) -> None:
            connection = sqlite3.connect(path)
            try:
                connection.executescript(sql)
            finally:
                connection.close()

        def tables() -> set[str]:
            return {name for (name,) in fetch("SELECT name FROM sqlite_master WHERE type = 'table'")}

        return cls("sqlite", f"sqlite:///{path}", fetch, run_sql, tables, f"sqlite:///{path}")

    @property
    def env(self) -> dict[str, str]:
        """The pipelines of the tests name their database as ``${DB_URL}``."""
        return {"DB_URL": self.url}
