"""What an engine that runs one pipeline per task needs of ``orchestrator run``: ``--only`` (the
pipeline alone, its upstream taken as done), ``--downstream`` (the pipeline and what depends on
it), and ``--run-id`` (the run's id supplied from outside; a recorded run with that id is
continued, so an engine's retry of a task goes on from the checkpoints instead of loading twice).
Real ``orchestrator run`` processes and the Python API on real SQLite files."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

import orchestrator
from helpers import cli
from orchestrator.launch import LaunchError

CONFIG = """
pipelines:
  a:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:extract", kwargs: {name: a}}}]}
      load: {steps: [{id: table, plugin: sqlite.write, args: {database: out.db, table: a}}]}
  b:
    type: ETL
    depends_on: [a]
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:extract", kwargs: {name: b}}}]}
      load:
        steps:
          - {id: table, plugin: sqlite.write, args: {database: out.db, table: b}}
          - {id: fragile, plugin: python.call, args: {callable: "steps:fragile"}}
  c:
    type: ETL
    depends_on: [b]
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:extract", kwargs: {name: c}}}]}
      load: {steps: [{id: table, plugin: sqlite.write, args: {database: out.db, table: c}}]}
  d:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:extract", kwargs: {name: d}}}]}
      load: {steps: [{id: table, plugin: sqlite.write, args: {database: out.db, table: d}}]}
  flaky:
    type: ETL
    retry: {attempts: 3, initial: 0.01, jitter: false}
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:down", kwargs: {name: flaky}}}]}
      load: {steps: [{id: table, plugin: sqlite.write, args: {database: out.db, table: flaky}}]}
"""

STEPS = """
from pathlib import Path

HERE = Path(__file__).parent


def extract(name):
    calls = HERE / f"{name}.calls"
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    return [{"id": i, "name": name} for i in range(100)]


def down(name):
    extract(name)
    raise ConnectionError("the source is down")


def fragile(batch):
    if not (HERE / "fixed").exists():
        raise ConnectionError("the target is down")
"""


@pytest.fixture
def config(write_config) -> Path:
    return write_config(CONFIG, **{"steps.py": STEPS})


def _calls(config: Path) -> dict[str, int]:
    return {path.stem: int(path.read_text()) for path in sorted(config.parent.glob("*.calls"))}


def _rows(config: Path, table: str) -> tuple[int, int]:
    with sqlite3.connect(config.parent / "out.db") as db:
        return db.execute(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM {table}").fetchone()


def _events(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _ran(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [e["pipeline"] for e in _events(result) if e["kind"] == "pipeline_finished"]


@pytest.mark.parametrize(
    ("options", "ran"),
    [
        ([], {"a", "b"}),
        (["--only"], {"b"}),
        (["--downstream"], {"b", "c"}),
    ],
)
def test_a_selection_runs_with_its_upstream_alone_or_with_its_downstream(config: Path, options: list[str], ran: set[str]) -> None:
    (config.parent / "fixed").touch()
    done = cli("run", str(config), "--pipeline", "b", *options, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_ran(done)) == ran
    assert set(_calls(config)) == ran, "only the pipelines that ran extracted anything"
    for table in ran:
        assert _rows(config, table) == (100, 100)


def test_the_python_api_selects_the_same_way(config: Path) -> None:
    (config.parent / "fixed").touch()
    assert list(orchestrator.run(config, pipelines=["b"], only=True).pipelines) == ["b"]
    assert list(orchestrator.run(config, pipelines=["b"], downstream=True).pipelines) == ["b", "c"]
    assert list(orchestrator.run(config, pipelines=["c"]).pipelines) == ["a", "b", "c"]
    with pytest.raises(LaunchError, match="use one of them"):
        orchestrator.run(config, pipelines=["b"], only=True, downstream=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--only"], "--only and --downstream say what to run beside the pipelines --pipeline names; add --pipeline NAME"),
        (["--pipeline", "b", "--only", "--downstream"], "use one of them"),
        (["--run-id", "../x"], "error: --run-id: '../x' is not a run id (a run id is letters, digits"),
        (["--run-id", "r1", "--resume"], "--run-id names the run itself"),
    ],
)
def test_a_scope_or_run_id_that_cannot_be_is_refused_before_anything_runs(config: Path, options: list[str], message: str) -> None:
    done = cli("run", str(config), *options)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert _calls(config) == {}, "nothing ran"


def test_a_task_retried_with_the_same_run_id_goes_on_from_its_checkpoints(config: Path) -> None:
    """An engine's retry: the same command line, the same run id; the load that completed is not
    run again, nothing is extracted twice, and a third attempt after the success loads nothing."""
    task = ["run", str(config), "--pipeline", "b", "--only", "--run-id", "nightly.b", "--json"]
    failed = cli(*task)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert {e["run_id"] for e in _events(failed)} == {"nightly.b"}
    assert _rows(config, "b") == (100, 100)

    (config.parent / "fixed").touch()
    retried = cli(*task)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    events = _events(retried)
    assert {(e["pipeline"], e["step"]) for e in events if e["kind"] == "step_reused"} == {("b", "src"), ("b", "table")}
    assert [(e["pipeline"], e["step"]) for e in events if e["kind"] == "step_finished"] == [("b", "fragile")]
    assert _calls(config) == {"b": 1}, "nothing was extracted twice"
    assert _rows(config, "b") == (100, 100), "every row loaded once"

    again = cli(*task)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [e["pipeline"] for e in _events(again) if e["kind"] == "pipeline_reused"] == ["b"]
    assert _calls(config) == {"b": 1} and _rows(config, "b") == (100, 100), "a succeeded run runs nothing again"
    runs = json.loads(cli("runs", "--config", str(config), "--json").stdout)
    assert [(r["run_id"], r["status"]) for r in runs] == [("nightly.b", "succeeded")], "one run in the history"


def test_a_new_run_id_starts_a_run_by_that_name(config: Path) -> None:
    (config.parent / "fixed").touch()
    result = orchestrator.run(config, pipelines=["d"], only=True, run_id="from-outside-1")
    assert result.ok and result.run_id == "from-outside-1"
    again = orchestrator.run(config, pipelines=["d"], only=True, run_id="from-outside-1")
    assert again.ok and again.pipelines["d"].status == "succeeded"
    assert _calls(config) == {"d": 1} and _rows(config, "d") == (100, 100)


def test_a_run_id_of_another_file_or_of_a_changed_config_is_refused(config: Path, write_config) -> None:
    (config.parent / "fixed").touch()
    assert cli("run", str(config), "--pipeline", "d", "--only", "--run-id", "shared-1").returncode == 0
    other = write_config(CONFIG, name="other.yaml")
    refused = cli("run", str(other), "--pipeline", "d", "--only", "--run-id", "shared-1")
    assert refused.returncode == 2 and f"that id is a run of {config.resolve()}, not {other}" in refused.stderr

    config.write_text(config.read_text() + "\n# changed\n")
    changed = cli("run", str(config), "--pipeline", "d", "--only", "--run-id", "shared-1")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "or its parameters changed since that run started" in changed.stderr
    forced = cli("run", str(config), "--pipeline", "d", "--only", "--run-id", "shared-1", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert _calls(config) == {"d": 1}, "the forced attempt reused what the run completed"


@pytest.mark.parametrize(("options", "attempts"), [([], 3), (["--no-pipeline-retry"], 1)])
def test_a_pipeline_retry_left_to_the_engine_makes_one_attempt(config: Path, options: list[str], attempts: int) -> None:
    """An engine that took over the pipeline's retry: (its task retries) asks for one attempt per
    task; otherwise attempts would multiply."""
    done = cli("run", str(config), "--pipeline", "flaky", "--only", *options)
    assert done.returncode == 1, done.stdout + done.stderr
    assert _calls(config) == {"flaky": attempts}
    assert [r.status for r in [orchestrator.run(config, pipelines=["flaky"], pipeline_retry=False).pipelines["flaky"]]] == ["failed"]
    assert _calls(config) == {"flaky": attempts + 1}


SCHEDULED = """
pipelines:
  daily:
    type: ETL
    schedule: {cron: "0 2 * * *", timezone: Europe/Berlin}
    phases:
      extract:
        steps:
          - plugin: python.call
            args: {callable: "tick:rows", kwargs: {start: "${schedule.interval_start}", end: "${schedule.interval_end}", at: "${schedule.logical_time}"}}
      load: {steps: [{plugin: jsonl.write, args: {path: out/daily.jsonl}}]}
  unscheduled:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "tick:rows", kwargs: {start: a, end: b, at: c}}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/other.jsonl}}]}
"""


def test_a_logical_time_from_an_engines_scheduler_is_the_tick_of_the_pipelines_schedule(write_config) -> None:
    config = write_config(SCHEDULED, **{"tick.py": "def rows(start, end, at):\n    return [{'start': start, 'end': end, 'at': at}]\n"})
    done = cli("run", str(config), "--pipeline", "daily", "--only", "--logical-time", "2026-11-03T01:00:00Z")
    assert done.returncode == 0, done.stdout + done.stderr
    row = json.loads((config.parent / "out" / "daily.jsonl").read_text())
    assert row == {"start": "2026-11-02T02:00:00+01:00", "end": "2026-11-03T02:00:00+01:00", "at": "2026-11-03T02:00:00+01:00"}
    for options, message in [
        (["--pipeline", "unscheduled", "--logical-time", "2026-11-03T01:00:00Z"], "the pipelines it runs have no schedule"),
        (["--pipeline", "daily", "--logical-time", "2026-11-03T01:00:00"], "the time has no offset"),
        (["--pipeline", "daily", "--logical-time", "tomorrow"], "expected an ISO 8601 time with its offset"),
    ]:
        refused = cli("run", str(config), *options)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr


def test_the_python_api_takes_a_logical_time_as_the_command_does(write_config) -> None:
    config = write_config(SCHEDULED, **{"tick.py": "def rows(start, end, at):\n    return [{'start': start, 'end': end, 'at': at}]\n"})
    moment = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    result = orchestrator.run(config, pipelines=["daily"], only=True, logical_time=moment)
    assert result.ok, result.pipelines
    row = json.loads((config.parent / "out" / "daily.jsonl").read_text())
    assert row == {"start": "2026-11-02T02:00:00+01:00", "end": "2026-11-03T02:00:00+01:00", "at": "2026-11-03T02:00:00+01:00"}
    for kwargs, message in [
        ({"pipelines": ["unscheduled"], "logical_time": moment}, "logical_time: the pipelines it runs have no schedule; select"),
        ({"pipelines": ["daily"], "logical_time": datetime(2026, 11, 3, 1, 0)}, "logical_time: the time has no offset"),
        ({"pipelines": ["daily"], "logical_time": moment, "data_interval": (moment, moment)}, "give one of them"),
    ]:
        with pytest.raises(LaunchError, match=re.escape(message)):
            orchestrator.run(config, **kwargs)
