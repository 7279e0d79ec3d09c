"""The file's schedules as Dagster ScheduleDefinitions, evaluated tick by tick on a real (test)
instance as Dagster's daemon would: the cron expression, its job, which ticks run and which are
skipped (start and end, catchup, overlap), and what Dagster cannot carry out, refused by key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from orchestrator_plugin_dagster import definitions_from

from orchestrator.errors import ConfigError


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as made:
        yield made


def evaluate(defs: dg.Definitions, name: str, instance: dg.DagsterInstance, fired: datetime) -> dg.RunRequest | str:
    """The run request of the tick due at ``fired``, or why it is skipped."""
    data = defs.resolve_schedule_def(name).evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=fired))
    if data.skip_message:
        return data.skip_message
    (request,) = data.run_requests
    return request


def due_now(period: timedelta) -> datetime:
    """The whole ``period`` (a minute, an hour) that began last, or the next one if it begins within
    30 s: the adapter reads the wall clock when it evaluates, so a tick taken a moment before a
    boundary would be a period old (missed, or not the newest) by then; this one stays the tick due
    now for at least 30 s."""
    soon = datetime.now(UTC) + timedelta(seconds=30)
    return soon - (soon - datetime(1970, 1, 1, tzinfo=UTC)) % period


def write(project: Path, schedule: str) -> Path:
    file = project / "odd.yaml"
    file.write_text(
        "pipelines:\n  odd:\n    type: ETL\n    schedule: " + schedule + "\n    phases:\n"
        "      extract: {steps: [{plugin: python.call, args: {callable: 'steps:rows', kwargs: {name: odd}}}]}\n"
        "      load: {steps: [{plugin: jsonl.write, args: {path: out/odd.jsonl}}]}\n"
    )
    return file


def test_each_scheduled_pipeline_has_a_schedule_of_a_job_with_its_upstream(project: Path) -> None:
    defs = definitions_from(project / "scheduled.yaml")

    daily = defs.resolve_schedule_def("daily_sales_schedule")
    assert (daily.cron_schedule, daily.execution_timezone, daily.job_name) == ("0 2 * * *", "Europe/Berlin", "daily_sales_job")
    assert daily.default_status == dg.DefaultScheduleStatus.RUNNING
    selected = defs.resolve_job_def("daily_sales_job").asset_layer.selected_asset_keys
    assert selected == {dg.AssetKey(["scheduled", "daily_sales"]), dg.AssetKey(["scheduled", "rates"])}
    # every: 15m from 00:05 is the cron expression of the same ticks, in UTC
    rates = defs.resolve_schedule_def("rates_schedule")
    assert (rates.cron_schedule, rates.execution_timezone) == ("5-59/15 * * * *", "UTC")
    assert sorted(s.name for s in defs.schedules) == ["daily_sales_schedule", "rates_schedule"]


@pytest.mark.parametrize(
    ("every", "cron"),
    [("1m", "* * * * *"), ("20m", "0-59/20 * * * *"), ("1h", "0 * * * *"), ("6h", "0 0-23/6 * * *"), ("1d", "0 0 * * *"), ("2h", "0 0-23/2 * * *")],
)
def test_every_becomes_the_cron_expression_of_the_same_ticks(project: Path, every: str, cron: str) -> None:
    defs = definitions_from(write(project, "{every: " + every + "}"))
    assert defs.resolve_schedule_def("odd_schedule").cron_schedule == cron


def test_a_tick_on_time_runs_with_its_data_interval(project: Path, instance: dg.DagsterInstance) -> None:
    defs = definitions_from(write(project, "{every: 1m}"))
    fired = due_now(timedelta(minutes=1))

    request = evaluate(defs, "odd_schedule", instance, fired)

    assert isinstance(request, dg.RunRequest)
    assert {key: value for key, value in request.tags.items() if key.startswith("orchestrator/")} == {
        "orchestrator/interval_start": (fired - timedelta(minutes=1)).isoformat(),
        "orchestrator/interval_end": fired.isoformat(),
    }


def test_catchup_none_skips_a_tick_evaluated_late_and_latest_runs_only_the_newest(project: Path, instance: dg.DagsterInstance) -> None:
    late = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    assert "missed" in evaluate(definitions_from(write(project, "{every: 1h}")), "odd_schedule", instance, late)
    latest = definitions_from(write(project, "{every: 1h, catchup: latest}"))
    assert "a later tick" in evaluate(latest, "odd_schedule", instance, late)
    newest = due_now(timedelta(hours=1))
    assert isinstance(evaluate(latest, "odd_schedule", instance, newest), dg.RunRequest)
    assert isinstance(evaluate(definitions_from(write(project, "{every: 1h, catchup: all}")), "odd_schedule", instance, late), dg.RunRequest)


def test_no_tick_runs_before_start_or_after_end(project: Path, instance: dg.DagsterInstance) -> None:
    defs = definitions_from(write(project, "{cron: '0 * * * *', start: 2026-11-01, end: 2026-11-30, catchup: all}"))
    assert "before the schedule's start" in evaluate(defs, "odd_schedule", instance, datetime(2026, 10, 31, 23, tzinfo=UTC))
    assert isinstance(evaluate(defs, "odd_schedule", instance, datetime(2026, 11, 30, 23, tzinfo=UTC)), dg.RunRequest)
    assert "after the schedule's end" in evaluate(defs, "odd_schedule", instance, datetime(2026, 12, 1, 0, tzinfo=UTC))


def test_overlap_skip_skips_while_a_run_of_the_job_is_in_progress(project: Path, instance: dg.DagsterInstance) -> None:
    defs = definitions_from(write(project, "{every: 1m}"))
    allowed = definitions_from(write(project, "{every: 1m, overlap: allow}"))
    job = defs.resolve_job_def("odd_job")
    run = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
    fired = due_now(timedelta(minutes=1))

    assert evaluate(defs, "odd_schedule", instance, fired) == "a run of odd_job is still in progress (overlap: skip)"
    assert isinstance(evaluate(allowed, "odd_schedule", instance, fired), dg.RunRequest)
    instance.report_run_failed(run)
    assert isinstance(evaluate(defs, "odd_schedule", instance, fired), dg.RunRequest)


@pytest.mark.parametrize(
    ("schedule", "key", "why"),
    [
        ("{every: 1h, overlap: queue}", "overlap", "Dagster's run queue is configured on its instance"),
        ("{every: 1h, overlap: cancel}", "overlap", "Dagster's run queue is configured on its instance"),
        ("{every: 1h, max_queue: 3}", "max_queue", "there is no queue to bound"),
        ("{every: 7m}", "every", "none repeats every 0:07:00"),
        ("{every: 1h, start: '2026-11-01T00:00:30'}", "every", "starting on a whole minute"),
    ],
)
def test_what_dagster_cannot_carry_out_is_refused_by_key(project: Path, schedule: str, key: str, why: str) -> None:
    with pytest.raises(ConfigError) as raised:
        definitions_from(write(project, schedule))
    assert f"$.pipelines.odd.schedule.{key}: cannot be a Dagster schedule: " in str(raised.value)
    assert why in str(raised.value)
