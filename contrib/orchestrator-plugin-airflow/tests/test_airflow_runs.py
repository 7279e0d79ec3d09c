"""Real Airflow 3 runs (``dag.test()``) of DAGs built from pipeline files: the rows land, a failed
pipeline fails its task and leaves what depends on it ``upstream_failed``, a task Airflow retries
goes on from the core's checkpoints, and the data interval and params reach the run."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import LOAD_PLUGINS
from orchestrator.testing.adapters import calls, copy_project, core_calls

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def export(config: Path, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "orchestrator"), "export", "airflow", str(config), *args],
        capture_output=True, text=True, env={"ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS, "PATH": str(BIN)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def history(config: Path) -> list[dict]:
    done = subprocess.run(
        [str(BIN / "orchestrator"), "runs", "--config", str(config), "--json"],
        capture_output=True, text=True, env={"ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS, "PATH": str(BIN)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_the_quickstart_runs_on_airflow_and_its_rows_land(dag_test, tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", project, ignore=shutil.ignore_patterns("out", ".orchestrator", "__pycache__"))
    config = project / "pipeline.yaml"
    ran = dag_test(export(config))
    assert ran["state"] == "success", ran["log"][-4000:]
    assert {task: info["state"] for task, info in ran["tasks"].items()} == {
        "customers": "success", "sales": "success", "revenue_by_country": "success",
    }
    warehouse = project / "out" / "warehouse.db"
    assert count(warehouse, "customers") > 0 and count(warehouse, "orders") > 0 and count(warehouse, "daily_revenue") > 0
    assert (project / "out" / "revenue_by_country.csv").read_text().startswith("country,customers,revenue")
    runs = history(config)
    assert sorted(r["status"] for r in runs) == ["succeeded"] * 3, "one run per task, in the pipeline file's history"
    assert all(r["run_id"].startswith("pipeline.manual__") for r in runs), [r["run_id"] for r in runs]


FAILING = """
pipelines:
  broken:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:boom"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/broken.jsonl}}]}
  after_broken:
    type: ETL
    depends_on: [broken]
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/after_broken.jsonl}}]}
  unrelated:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/unrelated.jsonl}}]}
"""
FAILING_STEPS = """
def boom():
    raise LookupError("the source table is gone")


def rows():
    return [{"n": 1}, {"n": 2}]
"""


def test_a_failing_pipeline_fails_its_task_and_only_what_depends_on_it(dag_test, write_config) -> None:
    config = write_config(FAILING, **{"steps.py": FAILING_STEPS})
    ran = dag_test(export(config))
    assert ran["state"] == "failed"
    states = {task: info["state"] for task, info in ran["tasks"].items()}
    assert states == {"broken": "failed", "after_broken": "upstream_failed", "unrelated": "success"}
    assert "the source table is gone" in ran["log"]
    assert (config.parent / "out" / "unrelated.jsonl").read_text().count("\n") == 2
    assert not (config.parent / "out" / "after_broken.jsonl").exists()


RETRIED = """
pipelines:
  orders:
    type: ETL
    retry: {attempts: 2, initial: 10ms, backoff: fixed}
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:extract"}}]}
      load:
        steps:
          - {id: table, plugin: sqlite.write, args: {database: out.db, table: orders}}
          - {id: fragile, plugin: python.call, args: {callable: "steps:fragile"}}
"""
RETRIED_STEPS = """
from pathlib import Path

HERE = Path(__file__).parent


def extract():
    calls = HERE / "extract.calls"
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    return [{"id": i} for i in range(250)]


def fragile(batch):
    tried = HERE / "fragile.tried"
    if not tried.exists():
        tried.touch()
        raise ConnectionError("the target dropped the connection")
"""


def test_a_task_airflow_retries_goes_on_from_the_checkpoints(dag_test, write_config) -> None:
    config = write_config(RETRIED, **{"steps.py": RETRIED_STEPS})
    ran = dag_test(export(config))
    assert ran["state"] == "success", ran["log"][-4000:]
    assert ran["tasks"]["orders"] == {"state": "success", "try_number": 2}, "Airflow retried the task once"
    assert count(config.parent / "out.db", "orders") == 250, "every row loaded once"
    assert (config.parent / "extract.calls").read_text() == "1", "the retry read the extract's checkpoint"
    (run,) = history(config)
    assert run["status"] == "succeeded", "the retry continued the first try's run"
    shown = subprocess.run(
        [str(BIN / "orchestrator"), "runs", "show", run["run_id"], "--config", str(config), "--json"],
        capture_output=True, text=True, env={"ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS, "PATH": str(BIN)},
    )
    steps = json.loads(shown.stdout)["steps"]
    assert [s["status"] for s in steps if s["step"] == "fragile"] == ["failed", "succeeded"]
    assert [s["status"] for s in steps if s["step"] == "table"] == ["succeeded"], "the load ran once"


SCHEDULED = """
params:
  region: emea
pipelines:
  daily:
    type: ETL
    schedule: {cron: "0 2 * * *", timezone: Europe/Berlin, start: 2026-11-01, catchup: all}
    phases:
      extract:
        steps:
          - plugin: python.call
            args:
              callable: "steps:interval"
              kwargs: {start: "${schedule.interval_start}", end: "${schedule.interval_end}", at: "${schedule.logical_time}", region: "${params.region}"}
      load: {steps: [{plugin: jsonl.write, args: {path: out/daily.jsonl}}]}
"""
SCHEDULED_STEPS = """
def interval(start, end, at, region):
    return [{"start": start, "end": end, "at": at, "region": region}]
"""


def test_the_data_interval_and_params_of_the_dag_run_reach_the_pipeline(dag_test, write_config) -> None:
    config = write_config(SCHEDULED, **{"steps.py": SCHEDULED_STEPS})
    # a manual run at 02:00 Berlin on 2 November is about the day that ends then, as a tick of serve is
    ran = dag_test(export(config), logical_date="2026-11-02T01:00:00+00:00", conf={"region": "apac"})
    assert ran["state"] == "success", ran["log"][-4000:]
    (row,) = [json.loads(line) for line in (config.parent / "out" / "daily.jsonl").read_text().splitlines()]
    assert row == {
        "start": "2026-11-01T02:00:00+01:00", "end": "2026-11-02T02:00:00+01:00", "at": "2026-11-02T02:00:00+01:00",
        "region": "apac",
    }


def test_retry_on_retries_what_the_core_retries_and_nothing_else(dag_test, tmp_path: Path) -> None:
    """The shared project's retry_on.yaml: ``throttled`` raises a subclass of ConnectionError twice,
    ``malformed`` a ValueError; both have ``retry: {attempts: 3, on: [ConnectionError]}``."""
    project = copy_project(tmp_path / "project")
    ran = dag_test(export(project / "retry_on.yaml"))
    assert ran["tasks"]["throttled"] == {"state": "success", "try_number": 3}
    assert ran["tasks"]["malformed"] == {"state": "failed", "try_number": 1}, "Airflow retried an error retry.on does not name"
    assert calls(project) == core_calls(project / "retry_on.yaml", tmp_path / "core"), "the steps ran as often as under the core"

