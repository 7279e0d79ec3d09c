"""A transform_at_load step that finished is not run again by ``--resume``: its completion is
committed to the history before anything else happens (before it is shown, before the next step
starts), and ``sqlite.execute`` records its run in the target's ledger in the same transaction as
its SQL, so even a kill between the two cannot run it twice. Real subprocesses, real SQLite files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from helpers import BIN, cli

CONFIG = """
pipelines:
  orders:
    type: ETLT
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: sqlite.write, args: {database: out.db, table: orders}}]}
      transform_at_load:
        steps:
          - id: totals
            plugin: sqlite.execute
            args:
              database: out.db
              sql: "CREATE TABLE IF NOT EXISTS totals (n INTEGER); INSERT INTO totals SELECT COUNT(*) FROM orders"
          - id: after
            plugin: python.call
            args: {callable: "steps:after"}
"""

STEPS = """
import time
from pathlib import Path


def rows():
    return [{"id": 1}, {"id": 2}]


def after():
    marker = Path("after.started")
    if marker.exists():
        return None
    marker.touch()
    time.sleep(60)  # killed here, just after 'totals' finished
"""


def test_a_kill_just_after_a_transform_at_load_step_finished_does_not_run_it_again(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    (tmp_path / "steps.py").write_text(STEPS)
    process = subprocess.Popen(
        [str(BIN / "orchestrator"), "run", "pipeline.yaml"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"},
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "after.started").exists():
        assert time.monotonic() < deadline and process.poll() is None, "the run never reached the second step"
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = cli("run", "pipeline.yaml", "--resume", "--force", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with sqlite3.connect(tmp_path / "out.db") as db:
        assert db.execute("SELECT n FROM totals").fetchall() == [(2,)]
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (2,)


def test_sqlite_execute_runs_once_per_load_id(tmp_path: Path) -> None:
    """The ledger row is written with the SQL, so a second call under the same identity (the
    resume of a run whose history missed the end of the first) changes nothing."""
    from orchestrator.builtin.sqlite_steps import execute
    from orchestrator.context import StepContext

    with sqlite3.connect(tmp_path / "out.db") as db:
        db.execute("CREATE TABLE totals (n INTEGER)")
    db.close()
    sql = "INSERT INTO totals VALUES (1)"
    first = StepContext("run-1", "orders", {}, tmp_path, "transform_at_load", "totals", "sqlite.execute", (tmp_path,))
    assert execute(first, "out.db", sql) == 1
    assert execute(first, "out.db", sql) == 1  # the same rows reported, nothing run again
    other_run = StepContext("run-2", "orders", {}, tmp_path, "transform_at_load", "totals", "sqlite.execute", (tmp_path,))
    assert execute(other_run, "out.db", sql) == 1
    with sqlite3.connect(tmp_path / "out.db") as db:
        assert db.execute("SELECT COUNT(*) FROM totals").fetchone() == (2,)


@pytest.fixture(autouse=True)
def _only_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", "builtin")
