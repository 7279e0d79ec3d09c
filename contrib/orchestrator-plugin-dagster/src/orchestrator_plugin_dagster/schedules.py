"""A pipeline's ``schedule:`` as a Dagster ``ScheduleDefinition`` of a job that materializes the
pipeline's asset with what it depends on, as ``orchestrator serve`` runs it.

Dagster schedules are cron expressions: ``cron`` is taken as written, in ``timezone``; ``every``
becomes the cron expression of the same ticks when there is one (a period that divides an hour in
whole minutes, or a day in whole hours; ticks on ``start`` plus whole periods, or on multiples of
the period since 1970-01-01 UTC, as ``orchestrator serve`` counts). The rest of the schedule is decided at each tick by
the schedule's own function, with the core's schedule model: ``start`` and ``end`` (no run outside
them), ``catchup`` (under ``none`` a tick Dagster evaluates more than a minute late is skipped as
missed, under ``latest`` only the newest due tick runs, ``all`` runs each), ``overlap: skip``
(skipped while a run of the job is in progress) and ``allow``. A skipped tick says why in
Dagster's tick history. Each run is tagged with its tick's data interval, which the assets pass
on as ``${schedule.*}``. What Dagster cannot carry out is refused by key: ``overlap: queue`` and
``cancel`` (Dagster's run queue is the instance's configuration, not the code's), ``max_queue``,
and an ``every`` period no cron expression repeats.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import ScheduleEvaluationContext

from orchestrator.adapters import PipelineShape
from orchestrator.config.schedule import ON_TIME, Schedule
from orchestrator.errors import ConfigError, Problem
from orchestrator_plugin_dagster.assets import INTERVAL_END, INTERVAL_START

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def schedule_definition(file: Path, pipeline: PipelineShape, job: Any, name: str) -> dg.ScheduleDefinition:
    """The schedule named ``name`` that runs ``job`` on ``pipeline``'s ``schedule:``."""
    assert pipeline.schedule is not None
    _refuse_what_does_not_map(file, pipeline.name, pipeline.schedule)
    schedule = Schedule.from_config(pipeline.schedule)
    cron = schedule.cron if schedule.cron is not None else _every_as_cron(file, pipeline.name, schedule)

    def evaluate(context: ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        fired = context.scheduled_execution_time or datetime.now(UTC)
        why = _skipped(schedule, fired.astimezone(UTC), datetime.now(UTC))
        if why is None and schedule.overlap == "skip" and _in_progress(context, job.name):
            why = f"a run of {job.name} is still in progress (overlap: skip)"
        if why is not None:
            return dg.SkipReason(why)
        interval = pipeline.interval_at(fired)
        assert interval is not None
        return dg.RunRequest(tags={INTERVAL_START: interval[0].isoformat(), INTERVAL_END: interval[1].isoformat()})

    return dg.ScheduleDefinition(
        name=name, job=job, cron_schedule=cron, execution_timezone=schedule.zone.key if schedule.cron else "UTC",
        execution_fn=evaluate, default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{pipeline.name} of {file.name} on its schedule: {pipeline.schedule}",
    )


def _skipped(schedule: Schedule, fired: datetime, now: datetime) -> str | None:
    """Why the tick due at ``fired`` does not run when evaluated at ``now``, or None."""
    if schedule.start is not None and fired < schedule.start:
        return f"before the schedule's start ({schedule.start.isoformat()})"
    if schedule.until is not None and fired >= schedule.until:
        return "after the schedule's end"
    if schedule.catchup == "none" and now - fired > ON_TIME:
        return f"missed: due at {fired.isoformat()} (catchup: none)"
    later = schedule.next_fire(fired)
    if schedule.catchup == "latest" and later is not None and later <= now:
        return f"a later tick ({later.isoformat()}) is due too (catchup: latest)"
    return None


def _in_progress(context: dg.ScheduleEvaluationContext, job_name: str) -> bool:
    """Whether a run of the job is queued or running on the instance."""
    from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

    runs = context.instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS_RUN_STATUSES), limit=1)
    return bool(runs)


def _every_as_cron(file: Path, pipeline: str, schedule: Schedule) -> str:
    """The cron expression (in UTC) with the ticks of an ``every:`` schedule: on start plus whole
    periods, or on multiples of the period since 1970 without a start."""
    assert schedule.every is not None
    period = int(schedule.every.total_seconds())
    offset = int((schedule.start - _EPOCH).total_seconds()) % period if schedule.start is not None else 0
    where = f"$.pipelines.{pipeline}.schedule"
    cron = None
    if offset % 60 == 0 and period % 60 == 0 and 3600 % period == 0 and period < 3600:
        steps = period // 60
        cron = f"{offset // 60}-59/{steps} * * * *" if steps > 1 else "* * * * *"
    elif offset % 60 == 0 and period % 3600 == 0 and 86400 % period == 0:
        steps, minutes = period // 3600, offset // 60
        hours = "*" if steps == 1 else str(minutes // 60) if steps == 24 else f"{minutes // 60}-23/{steps}"
        cron = f"{minutes % 60} {hours} * * *"
    if cron is None:
        raise ConfigError([Problem(str(file), 0, f"{where}.every", (
            "cannot be a Dagster schedule: Dagster schedules are cron expressions, and none repeats every "
            f"{schedule.every} from {schedule.start or _EPOCH}; use a period that divides an hour in minutes or "
            "a day in hours, starting on a whole minute, or cron:"
        ))])
    return cron


def _refuse_what_does_not_map(file: Path, pipeline: str, spec: dict[str, Any]) -> None:
    """:class:`ConfigError` naming each key of ``spec`` that Dagster cannot carry out as written."""
    where = f"$.pipelines.{pipeline}.schedule"
    problems = []
    if spec.get("overlap") in ("queue", "cancel"):
        problems.append(("overlap", "Dagster's run queue is configured on its instance, not in code; use skip or allow"))
    if "max_queue" in spec:
        problems.append(("max_queue", "there is no queue to bound (overlap: queue cannot be served); remove it"))
    if problems:
        raise ConfigError([Problem(str(file), 0, f"{where}.{key}", f"cannot be a Dagster schedule: {why}") for key, why in problems])
