"""``pipeline_dag("pipeline.yaml")``: a pipeline file as an Airflow DAG, for a file in the dags folder.

The mapping, as astronomer-cosmos maps a dbt project (a model per task) and kedro-airflow a Kedro
pipeline (a node per task), at the grain the core runs on its own: a pipeline per task.

- each pipeline is a :class:`~orchestrator_plugin_airflow.operators.PipelineOperator` task, whose
  ``task_id`` is the pipeline's name; its phases stream into each other inside the task, as they
  do under ``orchestrator run`` (a task per phase would write every batch out between tasks);
- ``depends_on`` → the tasks' dependencies, so Airflow's rules apply: a failed pipeline leaves the
  ones that depend on it ``upstream_failed``, and the others run;
- the pipeline's ``retry:`` → the task's ``retries`` (``attempts - 1``), ``retry_delay``
  (``initial``), exponential backoff and ``max_retry_delay`` (``max``);
- ``schedule:`` → the DAG's timetable: a data-interval timetable, whose interval ends when the run
  is due, as a tick's of ``orchestrator serve`` does; ``start``/``end`` → ``start_date``/``end_date``;
  ``catchup: all`` → ``catchup=True``; ``overlap: allow`` → no limit on active runs, else one;
- ``params:`` → the DAG's params, with the file's defaults.

The file is read when the DAG is parsed (the structure) and again by each task (the run), so a
task always runs the file as it is then; a change that matters to a run it continues is refused,
as ``--resume`` refuses it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import DAG, CronDataIntervalTimetable, DeltaDataIntervalTimetable, Param

from orchestrator_plugin_airflow.operators import PipelineOperator

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec, Plan

#: Airflow's own: letters, digits, '-', '_' and '.'
_DAG_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class PipelineDagError(ValueError):
    """The file cannot be one DAG as asked; the message says what to do instead."""


def pipeline_dag(config: str | Path, *, dag_id: str | None = None, pipelines: Iterable[str] = (), **dag_kwargs: Any) -> DAG:
    """The DAG of a pipeline file: one task per pipeline (or per pipeline of ``pipelines`` and
    what they depend on). A relative ``config`` starts from the folder of the file that calls this
    (the DAG file), not from the scheduler's working directory. ``dag_id`` defaults to the file's
    name without its suffix; ``dag_kwargs`` go to :class:`airflow.sdk.DAG` and override what the
    file says (``schedule``, ``tags``, ``default_args``...)."""
    path = _path(config, sys._getframe(1).f_globals.get("__file__"))
    plan = _plan(path)
    names = _selected(plan, pipelines)
    specs = [plan.pipelines[name] for name in names]
    settings: dict[str, Any] = {
        "dag_id": dag_id or _dag_id(path),
        "description": f"pipeline-orchestrator: {path.name}",
        "params": _params(plan),
        "tags": ["pipeline-orchestrator"],
        **_schedule(specs),
    }
    settings.update(dag_kwargs)
    required = [name for name, param in settings["params"].items() if not param.has_value]
    if settings.get("schedule") is not None and required:
        raise PipelineDagError(
            f"{path.name} has a schedule, and parameter {required[0]!r} has no default: a scheduled run passes "
            "no parameters. Give it a default in the file, or build the DAG with schedule=None"
        )
    zone = _zone(specs) if settings.get("schedule") is not None else None
    dag = DAG(**settings)
    with dag:
        tasks = {
            spec.name: PipelineOperator(
                task_id=spec.name, config=str(path), pipeline=spec.name, defaults=_defaults(settings["params"]), zone=zone, **_retries(spec)
            )
            for spec in specs
        }
        for spec in specs:
            for upstream in spec.depends_on:
                if upstream in tasks:
                    tasks[upstream] >> tasks[spec.name]
    return dag


def _path(config: str | Path, caller: str | None) -> Path:
    path = Path(config)
    if not path.is_absolute() and caller:
        path = Path(caller).resolve().parent / path
    return path.resolve()


def _plan(path: Path) -> Plan:
    """The file's plan, read for its structure: a parameter the file leaves to be passed is given
    its name meanwhile (the DAG run passes the real value)."""
    from orchestrator.config.plan import load_plan
    from orchestrator.config.yamlsource import YamlSource
    from orchestrator.errors import ConfigError
    from orchestrator.plugins.discovery import load_plugins

    raw = YamlSource.read(path).load()
    declared = raw.get("params") if isinstance(raw, dict) else None
    required = {name: name for name, value in (declared or {}).items() if value is None} if isinstance(declared, dict) else {}
    try:
        return load_plan(path, load_plugins().registry, params=required)
    except ConfigError as exc:
        problems = "\n".join(str(problem) for problem in exc.problems)
        raise PipelineDagError(f"{path} is not a valid pipeline file:\n{problems}") from None


def _selected(plan: Plan, pipelines: Iterable[str]) -> list[str]:
    """The pipelines of the DAG in the file's dependency order: all, or the asked ones and what
    they depend on (as ``--pipeline`` selects)."""
    from orchestrator.config.graph import topological_order, with_dependencies

    graph = {name: spec.depends_on for name, spec in plan.pipelines.items()}
    asked = list(pipelines)
    unknown = [name for name in asked if name not in graph]
    if unknown:
        raise PipelineDagError(f"pipelines={unknown!r}: no such pipeline in {plan.source} (its pipelines: {', '.join(graph)})")
    keep = with_dependencies(graph, asked) if asked else set(graph)
    return [name for name in topological_order(graph) if name in keep]


def _dag_id(path: Path) -> str:
    return "".join(c if c in _DAG_ID_CHARACTERS else "_" for c in path.stem)


def _params(plan: Plan) -> dict[str, Param]:
    """The file's parameters as the DAG's, with their defaults as the file writes them (a
    ``${ENV}`` in a default is shown, not its value, so no secret reaches Airflow's pages); a
    parameter the file leaves to be passed must be given when the DAG is triggered."""
    from orchestrator.config.yamlsource import YamlSource

    raw = YamlSource.read(plan.source).load()
    declared = raw.get("params") if isinstance(raw, dict) else None
    params: dict[str, Param] = {}
    for name, value in (declared or {}).items():
        if value is None:
            params[name] = Param(type="string", description=f"{name} (required by {plan.source.name})")
        else:
            params[name] = Param(value, description=f"{name} of {plan.source.name}")
    return params


def _defaults(params: Mapping[str, Param]) -> dict[str, Any]:
    """What each parameter is when nobody set it: the task passes on only the values that differ,
    so the file's own defaults are worked out by the run, where it runs."""
    return {name: param.value if param.has_value else None for name, param in params.items()}


def _schedules(specs: Iterable[PipelineSpec]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for spec in specs:
        if spec.schedule is not None and spec.schedule not in found:
            found.append(spec.schedule)
    return found


def _schedule(specs: list[PipelineSpec]) -> dict[str, Any]:
    """The DAG's schedule settings from its pipelines' ``schedule:`` (one at most)."""
    from orchestrator.config.schedule import Schedule

    found = _schedules(specs)
    if not found:
        return {"schedule": None}
    if len(found) > 1:
        named = [spec.name for spec in specs if spec.schedule is not None]
        raise PipelineDagError(
            f"pipelines {', '.join(named)} have different schedules, and a DAG has one; build a DAG per "
            f"schedule: pipeline_dag(path, pipelines=[{named[0]!r}], dag_id=...)"
        )
    spec = found[0]
    schedule = Schedule.from_config(spec)
    zone = spec.get("timezone", "UTC")
    timetable = (
        CronDataIntervalTimetable(schedule.cron, timezone=zone) if schedule.cron is not None
        else DeltaDataIntervalTimetable(schedule.every)
    )
    return {
        "schedule": timetable,
        "start_date": schedule.start,
        "end_date": schedule.until,
        "catchup": schedule.catchup == "all",
        "max_active_runs": 16 if schedule.overlap == "allow" else 1,
    }


def _zone(specs: list[PipelineSpec]) -> str | None:
    found = _schedules(specs)
    return str(found[0].get("timezone", "UTC")) if found else None


def _retries(spec: PipelineSpec) -> dict[str, Any]:
    """The pipeline's ``retry:`` as the task's retry settings (none: no retries)."""
    policy = spec.policies.retry
    if policy is None:
        return {"retries": 0}
    settings: dict[str, Any] = {"retries": policy.attempts - 1, "retry_delay": timedelta(seconds=policy.initial), "retry_on": policy.on}
    if policy.backoff == "exponential":
        settings["retry_exponential_backoff"] = 2.0  # each wait doubles, as the core's backoff does
        settings["max_retry_delay"] = timedelta(seconds=policy.max)
    return settings
