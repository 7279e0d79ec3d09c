"""The assets run for real on Dagster, in process: the quickstart's rows land with the run's
metadata, a failed pipeline fails its step and only its dependants are left out, and a step that
Dagster retries goes on from the core's checkpoints instead of loading again."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_support import step_events
from orchestrator_plugin_dagster import definitions_from

from orchestrator.config.schedule import Schedule
from orchestrator.runstate.layout import run_id_from
from orchestrator.testing.adapters import calls, core_calls, history


def test_the_quickstart_materializes_and_its_rows_land_with_the_runs_metadata(quickstart: Path) -> None:
    defs = definitions_from(quickstart / "pipeline.yaml")

    result = defs.resolve_job_def("pipeline").execute_in_process()

    assert result.success
    rows = {}
    for name in ("customers", "sales", "revenue_by_country"):
        (materialization,) = result.asset_materializations_for_node(f"pipeline__{name}")
        assert materialization.asset_key == dg.AssetKey(["pipeline", name])
        metadata = materialization.metadata
        rows[name] = metadata["rows"].value
        assert metadata["duration"].value > 0
        assert metadata["status"].value == "succeeded"
        assert metadata["run_id"].value == run_id_from("pipeline", result.run_id, name)
    assert rows == {"customers": 8, "sales": 40, "revenue_by_country": 3}
    with sqlite3.connect(quickstart / "out" / "warehouse.db") as db:
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (40,)
    recorded = history(quickstart / "pipeline.yaml")
    assert sorted(recorded) == sorted(run_id_from("pipeline", result.run_id, name) for name in rows)
    assert {run["status"] for run in recorded.values()} == {"succeeded"}


def test_deps_follow_depends_on(quickstart: Path) -> None:
    graph = definitions_from(quickstart / "pipeline.yaml").resolve_asset_graph()
    report = dg.AssetKey(["pipeline", "revenue_by_country"])
    assert graph.get(report).parent_keys == {dg.AssetKey(["pipeline", "customers"]), dg.AssetKey(["pipeline", "sales"])}


def test_materialize_takes_the_file_parameters_as_the_resources_config(quickstart: Path) -> None:
    defs = definitions_from(quickstart / "pipeline.yaml")
    sales = defs.resolve_assets_def(dg.AssetKey(["pipeline", "sales"]))
    config = {"warehouse": "out/elsewhere.db", "vat_rate": 0.5}

    result = dg.materialize([sales], run_config={"resources": {"pipeline_params": {"config": config}}})

    assert result.success
    assert not (quickstart / "out" / "warehouse.db").exists()
    with sqlite3.connect(quickstart / "out" / "elsewhere.db") as db:
        # one lamp at 23.00 with 50% VAT
        assert db.execute("SELECT total FROM orders WHERE order_id = 1001").fetchone() == (34.5,)


def test_a_failed_pipeline_fails_its_step_leaves_out_its_dependants_and_not_the_others(project: Path) -> None:
    defs = definitions_from(project / "failing.yaml")

    result = defs.resolve_job_def("failing").execute_in_process(raise_on_error=False)

    assert not result.success
    events = step_events(result)
    assert events["failing__bad"] == ["STEP_START", "STEP_FAILURE"]
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data.user_failure_data.description == (
        f"pipeline 'bad' failed (run {run_id_from('failing', result.run_id, 'bad')}): "
        "step 'python.call-2' (python.call) failed: ConnectionError: the source went away"
    )
    # Dagster never starts a step whose upstream failed: it has no event at all
    assert "failing__after_bad" not in events
    assert events["failing__unrelated"][-1] == "STEP_SUCCESS"
    with sqlite3.connect(project / "out" / "warehouse.db") as db:
        tables = {name for name, in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert db.execute("SELECT COUNT(*) FROM unrelated").fetchone() == (3,)
    assert "bad" not in tables and "after_bad" not in tables
    assert not (project / "calls" / "extract-after_bad").exists()
    statuses = {run_id.split(".")[-1]: run["status"] for run_id, run in history(project / "failing.yaml").items()}
    assert statuses == {"bad": "failed", "unrelated": "succeeded"}


def test_a_retried_step_goes_on_from_the_checkpoints_and_loads_each_row_once(project: Path) -> None:
    defs = definitions_from(project / "retried.yaml")

    result = defs.resolve_job_def("retried").execute_in_process()

    assert result.success
    events = step_events(result)["retried__people"]
    assert events.count("STEP_UP_FOR_RETRY") == 1 and events.count("STEP_RESTARTED") == 1
    with sqlite3.connect(project / "out" / "warehouse.db") as db:
        assert db.execute("SELECT COUNT(*) FROM people").fetchone() == (3,)
    # the retry took the extract's output from the checkpoint and skipped the committed load
    assert (project / "calls" / "extract-people").read_text() == "1"
    assert (project / "calls" / "after-load-people").read_text() == "2"
    recorded = history(project / "retried.yaml")
    assert list(recorded) == [run_id_from("retried", result.run_id, "people")]
    assert recorded[run_id_from("retried", result.run_id, "people")]["status"] == "succeeded"


def test_retry_on_leaves_other_errors_unretried(project: Path) -> None:
    file = project / "picky.yaml"
    file.write_text(
        (project / "failing.yaml").read_text().replace("  bad:\n    type: ETL\n", "  bad:\n    type: ETL\n    retry: {attempts: 3, initial: 10ms, on: [KeyError]}\n")
    )
    result = definitions_from(file).resolve_job_def("picky").execute_in_process(raise_on_error=False)

    assert step_events(result)["picky__bad"] == ["STEP_START", "STEP_FAILURE"]  # ConnectionError: not retried
    assert (project / "calls" / "extract-bad").read_text() == "1"


def test_retry_on_retries_what_the_core_retries_subclasses_included(project: Path, tmp_path: Path) -> None:
    """``on: [ConnectionError]``: a step's error derived from it is retried, as the core retries
    it; an error the core would not retry is not."""
    result = definitions_from(project / "retry_on.yaml").resolve_job_def("retry_on").execute_in_process(raise_on_error=False)

    events = step_events(result)
    assert events["retry_on__throttled"].count("STEP_UP_FOR_RETRY") == 2 and events["retry_on__throttled"][-1] == "STEP_SUCCESS"
    assert events["retry_on__malformed"] == ["STEP_START", "STEP_FAILURE"]
    assert calls(project) == {"extract-malformed": 1, "extract-throttled": 3}
    assert calls(project) == core_calls(project / "retry_on.yaml", tmp_path / "core")  # retry for retry
    with sqlite3.connect(project / "out" / "warehouse.db") as db:
        assert db.execute("SELECT name FROM throttled").fetchall() == [("ada",)]


def test_a_scheduled_run_passes_its_data_interval_as_schedule_variables(project: Path) -> None:
    defs = definitions_from(project / "interval.yaml")
    schedule = defs.resolve_schedule_def("daily_schedule")
    with dg.instance_for_test() as instance:
        tick = dg.build_schedule_context(instance=instance, scheduled_execution_time=last_tick())
        (request,) = schedule.evaluate_tick(tick).run_requests

    result = defs.resolve_job_def("daily_job").execute_in_process(tags=request.tags)

    assert result.success
    with sqlite3.connect(project / "out" / "warehouse.db") as db:
        (since, until, logical), = db.execute("SELECT since, until, logical FROM intervals").fetchall()
    assert (since, until, logical) == (request.tags["orchestrator/interval_start"], request.tags["orchestrator/interval_end"], until)
    assert until.endswith(("+01:00", "+02:00"))  # in the schedule's time zone


def last_tick() -> datetime:
    """The tick of interval.yaml's schedule due last (02:00 in Berlin): caught up, as catchup: all says."""
    schedule = Schedule.from_config({"cron": "0 2 * * *", "timezone": "Europe/Berlin"})
    fired = schedule.previous_fire(datetime.now(UTC))
    assert fired is not None
    return fired.astimezone(ZoneInfo("Europe/Berlin"))
