"""The DAG a pipeline file becomes, without running it: one task per pipeline, ``depends_on`` as
the tasks' dependencies, ``retry:`` as the tasks' retries, ``schedule:`` as the DAG's timetable,
``params:`` as the DAG's params; and what cannot be one DAG is said plainly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from airflow.sdk import CronDataIntervalTimetable, DeltaDataIntervalTimetable
from orchestrator_plugin_airflow import pipeline_dag
from orchestrator_plugin_airflow.dag import PipelineDagError
from orchestrator_plugin_airflow.operators import PipelineOperator

REPO = Path(__file__).resolve().parents[3]
QUICKSTART = REPO / "examples" / "quickstart" / "pipeline.yaml"

PIPELINES = """
params:
  limit: 10
pipelines:
  raw:
    type: ETL
    retry: {attempts: 4, initial: 2s, max: 1m}
    schedule: SCHEDULE
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/raw.jsonl}}]}
  clean:
    type: ETL
    depends_on: [raw]
    retry: {attempts: 2, initial: 5s, backoff: fixed}
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/clean.jsonl}}]}
  other:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/other.jsonl}}]}
"""
STEPS = {"steps.py": "def rows():\n    return []\n"}


def test_the_quickstart_is_a_task_per_pipeline_in_its_dependency_order() -> None:
    dag = pipeline_dag(QUICKSTART)
    assert dag.dag_id == "pipeline"
    assert sorted(dag.task_ids) == ["customers", "revenue_by_country", "sales"]
    assert dag.get_task("revenue_by_country").upstream_task_ids == {"customers", "sales"}
    assert dag.get_task("customers").downstream_task_ids == {"revenue_by_country"}
    task = dag.get_task("sales")
    assert isinstance(task, PipelineOperator) and (task.pipeline, task.config) == ("sales", str(QUICKSTART))
    assert task.retries == 0 and dag.schedule is None
    assert set(dag.params) == {"vat_rate", "warehouse"}
    assert dag.params["warehouse"] == "${WAREHOUSE:-out/warehouse.db}", "a default is shown as the file writes it"


def test_retries_schedule_and_params_are_the_engines(write_config) -> None:
    config = write_config(PIPELINES.replace("SCHEDULE", '{cron: "30 2 * * *", timezone: Europe/Berlin, start: 2026-11-01, catchup: all}'), **STEPS)
    dag = pipeline_dag(config)
    raw, clean, other = (dag.get_task(name) for name in ("raw", "clean", "other"))
    assert (raw.retries, raw.retry_delay, raw.retry_exponential_backoff, raw.max_retry_delay) == (3, timedelta(seconds=2), 2.0, timedelta(minutes=1))
    assert (clean.retries, clean.retry_delay, clean.retry_exponential_backoff) == (1, timedelta(seconds=5), 0)
    assert other.retries == 0 and other.upstream_task_ids == set()
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert (dag.timetable.expression, dag.timetable.timezone) == ("30 2 * * *", "Europe/Berlin")
    assert dag.start_date == datetime(2026, 10, 31, 23, tzinfo=UTC) and dag.catchup is True and dag.max_active_runs == 1
    assert raw.zone == "Europe/Berlin"
    assert dag.params["limit"] == 10


def test_a_parameter_without_a_default_must_be_given_by_the_dag_run(write_config) -> None:
    text = PIPELINES.replace("  limit: 10\n", "  limit: 10\n  region: null\n")
    dag = pipeline_dag(write_config(text.replace("    schedule: SCHEDULE\n", ""), **STEPS))
    with pytest.raises(Exception, match="region"):
        dag.params.validate()
    with pytest.raises(PipelineDagError, match="has a schedule, and parameter 'region' has no default"):
        pipeline_dag(write_config(text.replace("SCHEDULE", "{every: 1h}"), **STEPS))


def test_an_interval_schedule_and_a_selection(write_config) -> None:
    config = write_config(PIPELINES.replace("SCHEDULE", "{every: 15m, overlap: allow}"), **STEPS)
    dag = pipeline_dag(config, pipelines=["clean"], dag_id="clean_only", tags=["mine"])
    assert sorted(dag.task_ids) == ["clean", "raw"], "a selection takes what it depends on"
    assert dag.dag_id == "clean_only" and dag.tags == {"mine"}
    assert isinstance(dag.timetable, DeltaDataIntervalTimetable) and dag.timetable.delta == timedelta(minutes=15)
    assert dag.max_active_runs == 16 and dag.catchup is False


def test_a_relative_path_starts_from_the_dag_files_folder(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pipelines").mkdir()
    (dags / "pipelines" / "quick.yaml").write_text(QUICKSTART.read_text().replace("data/", f"{QUICKSTART.parent}/data/"))
    (dags / "quick_dag.py").write_text(
        f"import sys\nsys.path.insert(0, {str(QUICKSTART.parent)!r})\n"
        "from orchestrator_plugin_airflow import pipeline_dag\n\ndag = pipeline_dag('pipelines/quick.yaml')\n"
    )
    namespace: dict = {"__file__": str(dags / "quick_dag.py")}
    exec(compile((dags / "quick_dag.py").read_text(), str(dags / "quick_dag.py"), "exec"), namespace)
    assert namespace["dag"].get_task("sales").config == str(dags / "pipelines" / "quick.yaml")


def test_what_cannot_be_one_dag_is_refused_with_what_to_do(write_config) -> None:
    two = PIPELINES.replace("SCHEDULE", '{cron: "0 1 * * *"}').replace(
        "  other:\n    type: ETL\n", '  other:\n    type: ETL\n    schedule: {every: 1h}\n'
    )
    with pytest.raises(PipelineDagError, match=r"pipelines raw, other have different schedules.*pipeline_dag\(path, pipelines=\['raw'\]"):
        pipeline_dag(write_config(two, **STEPS))
    with pytest.raises(PipelineDagError, match=r"pipelines=\['nope'\]: no such pipeline"):
        pipeline_dag(write_config(PIPELINES.replace("SCHEDULE", "{every: 1h}"), **STEPS), pipelines=["nope"])
    with pytest.raises(PipelineDagError, match=r"is not a valid pipeline file:\n.*pipeline.yaml:\d+: \$\.pipelines\.raw\.type"):
        pipeline_dag(write_config(PIPELINES.replace("SCHEDULE", "{every: 1h}").replace("type: ETL", "type: ETX", 1), **STEPS))
