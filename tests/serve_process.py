"""A real ``orchestrator serve`` process for the end-to-end tests, and what they read: a schedule
every second writing each tick's times to a real SQLite table, the state store's tables."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers import BIN

ORCHESTRATOR = str(BIN / "orchestrator") if (BIN / "orchestrator").exists() else "orchestrator"

ROWS = """\
import time

def row(logical_time, interval_start, interval_end, sleep=0):
    time.sleep(float(sleep))
    return [{"logical_time": logical_time, "interval_start": interval_start, "interval_end": interval_end}]
"""


def due_once() -> str:
    """``schedule:`` keys whose one tick is due now and whose next is weeks away, so a test that
    expects exactly one scheduled run cannot see a second one because the clock passed an hour."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return f"every: 30d, catchup: latest, start: '{start.isoformat()}'"


def not_before_next_month() -> str:
    """A ``start:`` date 30 days ahead, taken when the tests run: a schedule that a test shows but
    must not fire (a daily 02:00, a new year's midnight) cannot reach its first tick while the test
    runs, whatever the time of day or year it runs at."""
    return (datetime.now(UTC) + timedelta(days=30)).date().isoformat()


def ticking(every: str = "1s", catchup: str = "all", sleep: float = 0, extra: str = "", schedule: str = "") -> str:
    schedule = schedule or f"every: {every}, catchup: {catchup}{extra}"
    return f"""\
pipelines:
  every_second:
    type: ETL
    schedule: {{{schedule}}}
    phases:
      extract:
        steps:
          - plugin: python.call
            args:
              callable: "rows:row"
              kwargs:
                logical_time: "${{schedule.logical_time}}"
                interval_start: "${{schedule.interval_start}}"
                interval_end: "${{schedule.interval_end}}"
                sleep: {sleep}
      load:
        steps:
          - plugin: sqlite.write
            args: {{database: out/ticks.db, table: ticks}}
"""


class Served:
    """A real ``orchestrator serve`` process; its log goes to a file the test reads."""

    def __init__(self, folder: Path, *targets: str, grace: float = 30, options: tuple[str, ...] = ()) -> None:
        self.log = folder / f"serve-{time.monotonic_ns()}.log"
        self.handle = self.log.open("w")
        self.process = subprocess.Popen(
            [ORCHESTRATOR, "serve", *targets, "--port", "0", "--grace", str(grace), *options],
            cwd=folder, stdout=self.handle, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.port = int(wait_for(lambda: re.search(r"serving on http://127\.0\.0\.1:(\d+)", self.text()), 30, self.text).group(1))

    def text(self) -> str:
        return self.log.read_text()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: object = None) -> tuple[int, Any]:
        """An API action: (status, answer)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body or {}).encode(), method="POST",
            headers={"X-Orchestrator-Request": "1", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    def stop(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.handle.close()
        return code


def wait_for(check: Callable[[], Any], timeout: float, say: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s\n{say()}")


def ran_before_the_stop(ledger: list[tuple[Any, ...]], status: int = 1) -> list[tuple[Any, ...]]:
    """The entries of a ledger read after a server stopped (oldest first; ``status`` the column of
    each entry's status) whose runs ran, all ``succeeded``. Under ``overlap: queue`` a tick still
    waiting at SIGTERM stays ``claimed`` for the next start to run, which a loaded machine (a run
    slower than its cadence) makes happen; such ticks can only be the newest. Anything else fails."""
    done = [entry for entry in ledger if entry[status] == "succeeded"]
    waiting = ledger[len(done):]
    assert ledger[:len(done)] == done and all(entry[status] == "claimed" for entry in waiting), ledger
    return done


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    if not database.exists():
        return []
    connection = sqlite3.connect(database)
    try:
        return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        connection.close()


def state(folder: Path) -> Path:
    return folder / ".orchestrator" / "state.db"
