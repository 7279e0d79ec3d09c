"""A pipeline's ``schedule:`` as Prefect's: the schedule itself and the deployment's concurrency.

What maps: ``cron`` (five fields or a nickname) and ``every`` with ``timezone``; ``start`` of an
``every`` schedule anchors its ticks, as it does for ``orchestrator serve`` (ticks fall on start
plus whole periods; on multiples of the period since 1970 without one). ``overlap: skip`` and
``queue`` become a concurrency limit of one run that cancels or enqueues the new run;
``allow`` sets none. What Prefect's schedules cannot say is refused with the key and what to do,
rather than served differently: a cron ``start`` or any ``end`` (Prefect schedules have no
bounds), ``catchup`` other than ``none`` (Prefect's scheduler does not run the ticks it missed;
``orchestrator backfill`` does), ``max_catchup``, ``max_queue`` (a queue Prefect does not bound),
``overlap: cancel`` (Prefect cannot cancel the running run for the new one) and a cron with a
seconds field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.config.schedule import Schedule
from orchestrator.errors import ConfigError, Problem

if TYPE_CHECKING:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.schedules import Schedule as PrefectSchedule

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def prefect_schedule(file: Path, pipeline: str, spec: dict[str, Any], parameters: dict[str, Any]) -> PrefectSchedule:
    """The Prefect schedule of ``pipeline``'s ``schedule:``, its runs started with ``parameters``."""
    from prefect.schedules import Cron, Interval

    _refuse_what_does_not_map(file, pipeline, spec)
    schedule = Schedule.from_config(spec)
    zone = schedule.zone.key
    if schedule.cron is not None:
        return Cron(schedule.cron, timezone=zone, parameters=parameters, slug=pipeline)
    assert schedule.every is not None
    anchor = schedule.start or _EPOCH
    return Interval(schedule.every, anchor_date=anchor, timezone=zone, parameters=parameters, slug=pipeline)


def concurrency(spec: dict[str, Any]) -> ConcurrencyLimitConfig | None:
    """The deployment's concurrency for the schedule's ``overlap`` (default ``skip``)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    overlap = spec.get("overlap", "skip")
    if overlap == "allow":
        return None
    strategy = ConcurrencyLimitStrategy.ENQUEUE if overlap == "queue" else ConcurrencyLimitStrategy.CANCEL_NEW
    return ConcurrencyLimitConfig(limit=1, collision_strategy=strategy)


def _refuse_what_does_not_map(file: Path, pipeline: str, spec: dict[str, Any]) -> None:
    """:class:`ConfigError` naming each key of ``spec`` that Prefect cannot carry out as written."""
    where = f"$.pipelines.{pipeline}.schedule"
    problems: list[tuple[str, str]] = []
    if "cron" in spec and spec.get("start") is not None:
        problems.append(("start", "Prefect's cron schedules have no start; remove it, or use every: with start:"))
    if spec.get("end") is not None:
        problems.append(("end", "Prefect's schedules have no end; remove it and pause the deployment when it is done"))
    if spec.get("catchup", "none") != "none":
        problems.append((
            "catchup", "Prefect does not run the ticks its scheduler missed; use catchup: none, and orchestrator backfill for missed ticks",
        ))
    for key in ("max_catchup", "max_queue"):
        if key in spec:
            problems.append((key, "Prefect has no such bound; remove it"))
    if spec.get("overlap") == "cancel":
        problems.append(("overlap", "Prefect cannot cancel the running run for a new one; use skip, queue or allow"))
    if "cron" in spec and len(str(spec["cron"]).split()) == 6:
        problems.append(("cron", "Prefect's cron has no seconds field; use five fields"))
    if problems:
        raise ConfigError([
            Problem(str(file), 0, f"{where}.{key}", f"cannot be served by Prefect: {why}") for key, why in problems
        ])
