"""The flow runs for real on Prefect (ephemeral local mode): the quickstart's rows land, a failed
pipeline fails its task and only its task's dependants, and a task that Prefect retries goes on
from the core's checkpoints instead of loading again."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from orchestrator_plugin_prefect import pipeline_flow
from prefect_support import task_runs

from orchestrator.testing.adapters import calls, core_calls, history


def test_the_quickstart_runs_as_a_flow_and_its_rows_land(quickstart: Path) -> None:
    flow = pipeline_flow(quickstart / "pipeline.yaml")

    state = flow(return_state=True)

    assert state.is_completed(), state.message
    runs = task_runs(state)
    assert {name: run.state.type.value for name, run in runs.items()} == {
        "customers": "COMPLETED", "sales": "COMPLETED", "revenue_by_country": "COMPLETED",
    }
    with sqlite3.connect(quickstart / "out" / "warehouse.db") as db:
        assert db.execute("SELECT COUNT(*) FROM customers").fetchone() == (8,)
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (40,)
    with open(quickstart / "out" / "revenue_by_country.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 3
    # the core's history holds one run per task, named after the flow run
    flow_run_id = state.state_details.flow_run_id
    recorded = history(quickstart / "pipeline.yaml")
    assert sorted(recorded) == sorted(f"pipeline.{flow_run_id}.{name}" for name in runs)
    assert {run["status"] for run in recorded.values()} == {"succeeded"}


def test_the_file_parameters_are_the_flow_parameters(quickstart: Path) -> None:
    flow = pipeline_flow(quickstart / "pipeline.yaml")
    schema = flow.parameters.properties
    assert schema["vat_rate"]["default"] == 0.2
    assert schema["warehouse"]["default"] is None  # ${WAREHOUSE:-...}: left to the file when it runs
    elsewhere = quickstart / "out" / "elsewhere.db"

    state = flow(warehouse=str(elsewhere), vat_rate=0.5, pipelines=["sales"], return_state=True)

    assert state.is_completed(), state.message
    assert set(task_runs(state)) == {"sales"}
    assert not (quickstart / "out" / "warehouse.db").exists()
    with sqlite3.connect(elsewhere) as db:
        # one lamp at 23.00 with 50% VAT
        assert db.execute("SELECT total FROM orders WHERE order_id = 1001").fetchone() == (34.5,)


def test_a_failed_pipeline_fails_its_task_stops_its_dependants_and_not_the_others(project: Path) -> None:
    flow = pipeline_flow(project / "failing.yaml")

    state = flow(return_state=True)

    assert state.is_failed()
    runs = task_runs(state)
    assert runs["bad"].state.type.value == "FAILED"
    assert "ConnectionError: the source went away" in runs["bad"].state.message
    # Prefect never starts a task whose wait_for did not complete: it stays pending, named NotReady
    assert (runs["after_bad"].state.type.value, runs["after_bad"].state.name) == ("PENDING", "NotReady")
    assert runs["unrelated"].state.type.value == "COMPLETED"
    with sqlite3.connect(project / "out" / "warehouse.db") as db:
        tables = {name for name, in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert db.execute("SELECT COUNT(*) FROM unrelated").fetchone() == (3,)
    assert "bad" not in tables and "after_bad" not in tables
    assert not (project / "calls" / "extract-after_bad").exists()
    statuses = {run_id.rpartition(".")[2]: run["status"] for run_id, run in history(project / "failing.yaml").items()}
    assert statuses == {"bad": "failed", "unrelated": "succeeded"}


def test_a_retried_task_goes_on_from_the_checkpoints_and_loads_each_row_once(project: Path) -> None:
    flow = pipeline_flow(project / "retried.yaml")

    state = flow(return_state=True)

    assert state.is_completed(), state.message
    people = task_runs(state)["people"]
    assert people.run_count == 2  # the first attempt failed after its load; Prefect ran the task again
    with sqlite3.connect(project / "out" / "warehouse.db") as db:
        assert db.execute("SELECT COUNT(*) FROM people").fetchone() == (3,)
    # the retry took the extract's output from the checkpoint and skipped the committed load
    assert (project / "calls" / "extract-people").read_text() == "1"
    assert (project / "calls" / "after-load-people").read_text() == "2"
    # one run in the core's history, the same for both attempts
    recorded = history(project / "retried.yaml")
    assert list(recorded) == [f"retried.{state.state_details.flow_run_id}.people"]
    assert recorded[f"retried.{state.state_details.flow_run_id}.people"]["status"] == "succeeded"


def test_retry_on_retries_what_the_core_retries_subclasses_included(project: Path, tmp_path: Path) -> None:
    """``on: [ConnectionError]``: a step's error derived from it is retried, as the core retries
    it; an error the core would not retry is not."""
    flow = pipeline_flow(project / "retry_on.yaml")

    state = flow(return_state=True)

    assert state.is_failed()
    runs = task_runs(state)
    assert (runs["throttled"].state.type.value, runs["throttled"].run_count) == ("COMPLETED", 3)
    assert (runs["malformed"].state.type.value, runs["malformed"].run_count) == ("FAILED", 1)
    assert calls(project) == {"extract-malformed": 1, "extract-throttled": 3}
    assert calls(project) == core_calls(project / "retry_on.yaml", tmp_path / "core")  # retry for retry
    with sqlite3.connect(project / "out" / "warehouse.db") as db:
        assert db.execute("SELECT name FROM throttled").fetchall() == [("ada",)]
