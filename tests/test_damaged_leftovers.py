"""What a kill leaves behind does not stand in the way: a truncated checkpoint is discarded on
``--resume`` (with a warning) and its phase run again, every row loaded once; a killed writer's
temporary file is removed by the next write of the same file. Real ``orchestrator run``
subprocesses, real files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from helpers import BIN, cli

ROWS = 30_000  # more than a checkpoint record holds: the extract's output is kept in a file of its own

STEPS = f'''
from pathlib import Path


def rows():
    return [{{"id": n, "text": "row %d" % n}} for n in range({ROWS})]


def fails_once(rows):
    marker = Path("failed.once")
    if not marker.exists():
        marker.touch()
        raise ConnectionError("the service hung up")
    return rows
'''

CONFIG = """
pipelines:
  orders:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      transform: {steps: [{plugin: python.call, args: {callable: "steps:fails_once"}}]}
      load: {steps: [{plugin: sqlite.write, args: {database: out.db, table: orders}}]}
"""


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_truncated_checkpoint_is_discarded_and_its_phase_runs_again(tmp_path: Path, force: list[str]) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    (tmp_path / "steps.py").write_text(STEPS)
    first = cli("run", "pipeline.yaml", cwd=tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    [kept] = (tmp_path / ".orchestrator" / "checkpoints").glob("*/orders.extract.checkpoint")
    with kept.open("r+b") as file:  # as a crash of the machine or a full disk leaves it
        file.truncate(kept.stat().st_size // 2)
    resumed = cli("run", "pipeline.yaml", "--resume", *force, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "checkpoint" in resumed.stdout and "damaged" in resumed.stdout, resumed.stdout
    with sqlite3.connect(tmp_path / "out.db") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM orders").fetchone() == (ROWS, ROWS)


SLOW_CSV = """
pipelines:
  export:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "slow:rows"}}]}
      load: {steps: [{plugin: csv.write, args: {path: out/export.csv}}]}
"""

SLOW = """
import time


def rows():
    for start in range(0, 100_000_000, 1000):
        time.sleep(0.01)
        yield [{"id": n} for n in range(start, start + 1000)]


def few():
    return [{"id": 1}]
"""


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(SLOW_CSV)
    (tmp_path / "slow.py").write_text(SLOW)
    process = subprocess.Popen(
        [str(BIN / "orchestrator"), "run", "pipeline.yaml"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"},
    )
    deadline = time.monotonic() + 30
    while not [p for p in (tmp_path / "out").glob(".*.tmp") if p.stat().st_size > 0]:
        assert time.monotonic() < deadline and process.poll() is None, "the export never started writing"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list((tmp_path / "out").glob(".*.tmp")), "the kill left the temporary file"
    (tmp_path / "pipeline.yaml").write_text(SLOW_CSV.replace("slow:rows", "slow:few"))
    again = cli("run", "pipeline.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (tmp_path / "out" / "export.csv").read_text() == "id\n1\n"
    assert not list((tmp_path / "out").glob(".*.tmp")), "the killed run's temporary file is still there"
