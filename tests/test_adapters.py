"""orchestrator.adapters, what every engine adapter shares: a pipeline file read as a graph of
tasks, and one pipeline run as one engine task. Real files, real runs, the history read back."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpers import ONLY_BUILTIN
from orchestrator.adapters import PipelineFailed, read_shape, run_pipeline
from orchestrator.config.policies import RetryPolicy
from orchestrator.errors import ConfigError
from orchestrator.runstate.layout import run_id_from
from orchestrator.testing.adapters import history

CONFIG = """\
params:
  warehouse: out/warehouse.db
  country: GB
  batch:

pipelines:
  report:
    type: ELT
    depends_on: [people]
    schedule: {cron: "0 6 * * *", timezone: Europe/Paris}
    phases:
      extract:
        steps: [{plugin: sqlite.read, args: {database: "${params.warehouse}", query: "SELECT * FROM people WHERE country = '${params.country}'"}}]
      load:
        steps: [{plugin: sqlite.write, args: {database: "${params.warehouse}", table: report}}]
  people:
    type: ETL
    retry: {attempts: 3, initial: 2s, on: [ConnectionError]}
    phases:
      extract:
        steps: [{plugin: csv.read, args: {path: people.csv}}]
      load:
        steps: [{plugin: sqlite.write, args: {database: "${params.warehouse}", table: people, mode: append}}]
  flaky:
    type: ETL
    retry: {attempts: 3, initial: 10ms, jitter: false}
    phases:
      extract:
        steps: [{plugin: python.call, args: {callable: "flaky:rows"}}]
      load:
        steps: [{plugin: sqlite.write, args: {database: "${params.warehouse}", table: flaky}}]
"""

PEOPLE = "id,name,country\n1,ada,GB\n2,grace,US\n3,alan,GB\n"

#: fails on its first call, counting its calls in a file beside it
FLAKY = """\
from pathlib import Path

COUNTER = Path(__file__).with_name("flaky-calls")


def rows():
    calls = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
    COUNTER.write_text(str(calls))
    if calls == 1:
        raise ConnectionError("the source went away")
    return [{"id": 1}]
"""


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    return write_config(CONFIG, **{"people.csv": PEOPLE, "flaky.py": FLAKY})



def test_the_file_is_a_graph_of_tasks_in_dependency_order(config: Path) -> None:
    shape = read_shape(config)
    order = [p.name for p in shape.pipelines]
    assert sorted(order) == ["flaky", "people", "report"] and order.index("people") < order.index("report")
    report, people = shape.pipeline("report"), shape.pipeline("people")
    assert report.depends_on == ("people",) and people.depends_on == ()
    assert report.schedule == {"cron": "0 6 * * *", "timezone": "Europe/Paris"} and people.schedule is None
    assert people.retry is not None and (people.retry.attempts, people.retry.initial, people.retry.on) == (3, 2.0, ("ConnectionError",))
    assert report.retry is None
    assert shape.params == {"warehouse": "out/warehouse.db", "country": "GB", "batch": None}
    assert shape.required == {"batch"}
    assert shape.path == config.resolve() and shape.stem == "pipeline"


def test_a_given_parameter_is_no_longer_required(config: Path) -> None:
    shape = read_shape(config, {"batch": 7})
    assert shape.params["batch"] == 7 and shape.required == frozenset()


def test_a_selection_takes_what_it_depends_on_and_names_the_pipelines_it_does_not_know(config: Path) -> None:
    shape = read_shape(config)
    assert shape.selected(["report"]) == {"report", "people"}
    assert shape.selected(None) == {"report", "people", "flaky"}
    with pytest.raises(ValueError, match=r"pipeline.yaml has no pipeline 'nope' \(it has "):
        shape.selected(["report", "nope"])


def test_a_bad_file_is_refused_with_the_cores_own_error(write_config: Callable[..., Path]) -> None:
    bad = write_config("pipelines:\n  p:\n    type: ETL\n    depends_on: [ghost]\n    phases: {}\n", name="bad.yaml")
    with pytest.raises(ConfigError) as raised:
        read_shape(bad)
    assert "bad.yaml" in str(raised.value)


def test_a_task_runs_its_pipeline_alone_under_the_engines_run_id(config: Path) -> None:
    run_id = run_id_from("engine", "run-1", "people")
    outcome = run_pipeline(config, "people", run_id, {"batch": "7"})
    assert (outcome.status, outcome.rows) == ("succeeded", 3)
    report_id = run_id_from("engine", "run-1", "report")
    assert run_pipeline(config, "report", report_id, {"batch": "7"}).rows == 2
    runs = history(config)
    assert {runs[run_id]["status"], runs[report_id]["status"]} == {"succeeded"}


def test_a_failed_pipeline_fails_the_task_once_and_its_retry_continues_the_run(config: Path) -> None:
    run_id = run_id_from("engine", "run-2", "flaky")
    with pytest.raises(PipelineFailed) as raised:
        run_pipeline(config, "flaky", run_id, {"batch": "7"})
    failed = raised.value
    assert (failed.pipeline, failed.run_id, failed.status) == ("flaky", run_id, "failed")
    assert failed.error_classes[0] == "builtins.ConnectionError" and "builtins.OSError" in failed.error_classes
    assert failed.worth_retrying(RetryPolicy()) and failed.worth_retrying(RetryPolicy(on=("builtins.ConnectionError",)))
    assert failed.worth_retrying(RetryPolicy(on=("OSError",)))  # a base class, as the core retries it
    assert not failed.worth_retrying(RetryPolicy(on=("TimeoutError",)))
    assert (config.parent / "flaky-calls").read_text() == "1"  # retry: is the engine's, not run here
    copy = pickle.loads(pickle.dumps(failed))  # an engine may keep the exception as the task's result
    assert (type(copy), str(copy), copy.error_classes) == (PipelineFailed, str(failed), failed.error_classes)
    assert run_pipeline(config, "flaky", run_id, {"batch": "7"}).status == "succeeded"  # the engine's retry
    assert (config.parent / "flaky-calls").read_text() == "2"


def test_orchestrator_run_never_imports_the_adapters(config: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orchestrator", "run", str(config), "--pipeline", "people", "--param", "batch=7"],
        capture_output=True, text=True, env={**ONLY_BUILTIN, "PATH": "/usr/bin:/bin"}, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "orchestrator.config.plan" in done.stderr  # the import trace is there
    assert "orchestrator.adapters" not in done.stderr


def test_a_scheduled_engine_run_gets_the_interval_of_the_tick_it_fired_for(config: Path) -> None:
    report, people = read_shape(config).pipeline("report"), read_shape(config).pipeline("people")
    interval = report.interval_at(datetime(2026, 11, 3, 5, 0, tzinfo=UTC))
    assert interval is not None
    assert (interval[0].isoformat(), interval[1].isoformat()) == ("2026-11-02T06:00:00+01:00", "2026-11-03T06:00:00+01:00")
    assert people.interval_at(datetime(2026, 11, 3, 5, 0, tzinfo=UTC)) is None  # no schedule of its own
