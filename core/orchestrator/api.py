"""Running pipelines from Python: :func:`run` and its async twin :func:`arun`.

A run started here is the same run ``orchestrator run`` starts (both are put together by
:mod:`orchestrator.launch`): the config is validated, the run is recorded in the history its
``state:`` names (``orchestrator runs`` lists it), notifications go out, checkpoints and dead
letters are kept. What the command adds for a terminal stays with the command: no reporter prints
anything (pass ``on_event`` to see events), no signal handler is installed, and nothing exits the
process. A config that is wrong raises :class:`~orchestrator.errors.ConfigError` listing every
problem; a run that cannot start as asked raises :class:`~orchestrator.launch.LaunchError`; a
pipeline that fails does not raise: it is in the result (``result.ok`` is False).

Exposed lazily as ``orchestrator.run`` and ``orchestrator.arun`` (see ``orchestrator/__init__.py``),
so ``import orchestrator`` stays cheap for plugins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.events import EventSink, RunResult, discard

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.launch import Launched
    from orchestrator.plugins.discovery import Plugins

__all__ = ["RunResult", "arun", "run"]

Config = str | os.PathLike[str] | Mapping[str, Any]


def run(
    config: Config,
    *,
    pipelines: Iterable[str] = (),
    only: bool = False,
    downstream: bool = False,
    pipeline_retry: bool = True,
    params: Mapping[str, Any] | None = None,
    executor: str | None = None,
    run_id: str | None = None,
    resume: str | None = None,
    force: bool = False,
    data_interval: tuple[datetime, datetime] | None = None,
    logical_time: datetime | None = None,
    on_event: EventSink = discard,
    base_dir: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Validate and run a config, recording the run in its history; returns how each pipeline
    ended. See :func:`arun` for the arguments."""
    import anyio

    results: list[RunResult] = []

    async def main() -> None:
        # the result stays out of the event loop's hands (asyncio formats a main coroutine's
        # return value when it restores signal handlers, which costs as much as a large run)
        results.append(
            await arun(
                config, pipelines=pipelines, only=only, downstream=downstream, pipeline_retry=pipeline_retry, params=params,
                executor=executor, run_id=run_id, resume=resume, force=force, data_interval=data_interval,
                logical_time=logical_time, on_event=on_event, base_dir=base_dir,
            )
        )

    anyio.run(main)
    return results[0]


async def arun(
    config: Config,
    *,
    pipelines: Iterable[str] = (),
    only: bool = False,
    downstream: bool = False,
    pipeline_retry: bool = True,
    params: Mapping[str, Any] | None = None,
    executor: str | None = None,
    run_id: str | None = None,
    resume: str | None = None,
    force: bool = False,
    data_interval: tuple[datetime, datetime] | None = None,
    logical_time: datetime | None = None,
    on_event: EventSink = discard,
    base_dir: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Validate and run a config on the running event loop (asyncio or trio, through anyio).

    ``config`` is a pipeline file's path, or the config itself as a mapping (as YAML would load
    it); relative paths in a mapping start from ``base_dir`` (default: the current directory), as
    they start from a file's folder. ``pipelines`` selects pipelines (and what they depend on),
    as ``--pipeline`` does, or the pipelines alone (``only``, as ``--only``) or with what depends
    on them (``downstream``, as ``--downstream``); ``pipeline_retry=False`` makes one attempt of
    each pipeline, as ``--no-pipeline-retry`` does, for an engine that retries it; ``params`` sets declared parameters (values
    are given as text, as on the command line, or as the parameter's own type); ``executor`` runs
    every pipeline on that executor, as ``--executor`` does; ``run_id`` names the run, as
    ``--run-id`` does (a recorded run with that id is continued, so an engine's retry of a task
    loads nothing twice); ``resume`` continues a recorded run (``"latest"`` or a run id) as
    ``--resume`` does, ``force`` as ``--force``. ``data_interval`` (two aware datetimes) is the
    period the run is about when another scheduler started it: ``${schedule.interval_start}`` and
    ``${schedule.interval_end}``, and ``${schedule.logical_time}`` is its end (without it, all
    three are the moment the run was asked for, as for ``orchestrator run``). ``logical_time`` (an
    aware datetime) is the moment another scheduler says the run is due, as ``--logical-time``:
    ``${schedule.*}`` are then those of the tick due at that time of the one ``schedule:`` of the
    selected pipelines (of every pipeline, without ``pipelines``), so an engine that knows only when
    it fired need not work out the data interval; give ``data_interval`` or ``logical_time``, not both.
    ``on_event`` is called with every event of the run, in the order they happen.
    """
    from orchestrator.builtin.callable_check import check_callables
    from orchestrator.builtin.retry_names import check_retry_names
    from orchestrator.launch import Launch, launched, with_executor
    from orchestrator.plugins.discovery import shared_plugins

    plugins = shared_plugins()
    plan, name = _plan(config, plugins, params or {}, base_dir, _given_interval(data_interval, logical_time))
    if logical_time is not None:  # the config again, with the tick's ${schedule.*}
        plan, name = _plan(config, plugins, params or {}, base_dir, _tick(plan, tuple(pipelines), logical_time))
    check_callables(plan)  # a typo in a callable: fails here, before the first pipeline loads
    check_retry_names(plan, plugins.registry)
    if executor:
        plan = with_executor(plan, executor, plugins.registry, option="executor")
    asked = Launch(name, tuple(pipelines), resume, force, None, run_id, only, downstream, pipeline_retry)
    started: Launched
    with launched(plan, plugins, asked) as started:
        return await started.start(on_event)


def _given_interval(
    data_interval: tuple[datetime, datetime] | None, logical_time: datetime | None,
) -> dict[str, dict[str, str]] | None:
    """``${schedule.*}`` of a ``data_interval`` given, checked; None without one."""
    from orchestrator.config.interpolate import interval_schedule
    from orchestrator.launch import LaunchError

    if data_interval is None:
        return None
    if logical_time is not None:
        raise LaunchError("data_interval and logical_time: give one of them (logical_time takes the interval from the schedule)")
    try:
        return {"schedule": interval_schedule(*data_interval)}
    except ValueError as exc:
        raise LaunchError(f"data_interval: {exc}") from None


def _tick(plan: Plan, selected: tuple[str, ...], logical_time: datetime) -> dict[str, dict[str, str]]:
    """``${schedule.*}`` of the tick due at ``logical_time`` of the selected pipelines' schedule."""
    from orchestrator.config.schedule import ScheduleError, logical_tick
    from orchestrator.launch import LaunchError

    if logical_time.tzinfo is None or logical_time.utcoffset() is None:
        raise LaunchError(f"logical_time: the time has no offset; give an aware datetime, e.g. {logical_time.isoformat()}+00:00")
    schedules = [p.schedule for name, p in plan.pipelines.items() if p.schedule is not None and (not selected or name in selected)]
    try:
        return {"schedule": logical_tick(schedules, logical_time)}
    except ScheduleError as exc:
        raise LaunchError(f"logical_time: {exc}; select the pipelines of one schedule with pipelines=") from None


def _plan(
    config: Config, plugins: Plugins, params: Mapping[str, Any], base_dir: str | os.PathLike[str] | None,
    variables: dict[str, dict[str, str]] | None,
) -> tuple[Plan, str]:
    """The validated plan (with ``variables``, such as ``${schedule.*}``), and how messages name the config."""
    from orchestrator.config.plan import load_mapping, load_plan

    given = {name: value if isinstance(value, str) else _as_text(value) for name, value in params.items()}
    if isinstance(config, Mapping):
        folder = Path(base_dir) if base_dir is not None else Path.cwd()
        plan = load_mapping(config, folder, plugins.registry, params=given, variables=variables)
        return plan, str(plan.source)
    return load_plan(config, plugins.registry, params=given, variables=variables), os.fspath(config)


def _as_text(value: Any) -> str:
    """A parameter given as a Python value, as the command line would write it."""
    return str(value).lower() if isinstance(value, bool) else str(value)
