"""What the serve tests share: a clock the test moves, and one database (a real SQLite file or a
schema of the session's real PostgreSQL server) that several connections and processes open."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

_schemas = count(1)


@dataclass
class FakeClock:
    """``clock()`` is the time the test set; every instant aware, in UTC."""

    now: datetime = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Database:
    """``target`` is what a subprocess needs to connect: a file path or a PostgreSQL URL."""

    kind: str
    target: str

    def connect(self) -> Any:
        if self.kind == "sqlite":
            return sqlite3.connect(self.target)
        import psycopg

        return psycopg.connect(self.target)

    def script(self, body: str, *args: str) -> subprocess.Popen[str]:
        """Run ``body`` in a fresh Python process, with ``connect()`` and ``ARGS`` defined."""
        prelude = (
            "import sys, sqlite3\n"
            f"KIND, TARGET = {self.kind!r}, {self.target!r}\n"
            "ARGS = sys.argv[1:]\n"
            "def connect():\n"
            "    if KIND == 'sqlite':\n"
            "        return sqlite3.connect(TARGET)\n"
            "    import psycopg\n"
            "    return psycopg.connect(TARGET)\n"
        )
        code = prelude + textwrap.dedent(body)
        return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def database(kind: str, tmp_path: Path, request: Any) -> Database:
    if kind == "sqlite":
        return Database("sqlite", str(tmp_path / "state.db"))
    server = request.getfixturevalue("postgresql_server")
    return Database("postgresql", server.url(server.create_schema(f"serve_{next(_schemas)}")))


def start_together(procs: list[subprocess.Popen[str]]) -> None:
    """Each process prints ``ready`` and then waits for a line on its stdin: release them at once,
    so what they race for is contended rather than won by the one that imported first."""
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", line + (proc.stderr.read() if proc.stderr else "")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
