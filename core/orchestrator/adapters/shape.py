"""What an engine needs to know of a pipeline file to lay it out as a graph of tasks: its
pipelines in dependency order (each with what it waits for, its ``retry:`` as the core's
engine-neutral :class:`~orchestrator.config.policies.RetryPolicy`, and its ``schedule:``) and its
declared parameters.

The file is read and validated by the core, as ``orchestrator validate`` reads it, so an engine's
flow, DAG or assets are never built from a file the core would refuse; a bad file raises the
core's :class:`~orchestrator.errors.ConfigError`, which lists every problem with its line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from orchestrator.config.policies import RetryPolicy


@dataclass(frozen=True, slots=True)
class PipelineShape:
    """One pipeline as a task sees it."""

    name: str
    depends_on: tuple[str, ...]
    retry: RetryPolicy | None
    schedule: dict[str, Any] | None

    def interval_at(self, fired: datetime) -> tuple[datetime, datetime] | None:
        """The data interval of the tick of this pipeline's ``schedule:`` due at ``fired`` (when
        an engine's schedule made from it fired), in the schedule's zone, as ``orchestrator
        serve`` gives a tick; None without a schedule. For every task of that engine run, the
        pipelines it depends on included, which have no schedule of their own."""
        if self.schedule is None:
            return None
        from orchestrator.config.schedule import Schedule

        schedule = Schedule.from_config(self.schedule)
        tick = schedule.tick(fired)
        return tick.interval_start.astimezone(schedule.zone), tick.interval_end.astimezone(schedule.zone)


@dataclass(frozen=True, slots=True)
class FileShape:
    """A pipeline file as an engine lays it out: ``pipelines`` in an order where every pipeline
    comes after what it depends on; ``params`` maps each declared parameter to its default as
    written, ``required`` names the ones without one (they must be passed)."""

    path: Path
    stem: str
    pipelines: tuple[PipelineShape, ...]
    params: dict[str, Any]
    required: frozenset[str]

    def pipeline(self, name: str) -> PipelineShape:
        """The pipeline called ``name`` (one the file has)."""
        return next(p for p in self.pipelines if p.name == name)

    def selected(self, wanted: Iterable[str] | None) -> set[str]:
        """The pipelines a run of ``wanted`` takes (every pipeline when ``wanted`` is empty or
        None): those named and what they depend on, as ``orchestrator run --pipeline`` takes
        them. An unknown name raises :class:`ValueError` naming the pipelines the file has."""
        from orchestrator.config.graph import with_dependencies

        names = [pipeline.name for pipeline in self.pipelines]
        wanted = list(wanted or ())
        if not wanted:
            return set(names)
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise ValueError(f"{self.path.name} has no pipeline {', '.join(map(repr, unknown))} (it has {', '.join(names)})")
        return with_dependencies({p.name: p.depends_on for p in self.pipelines}, wanted)


def read_shape(path: str | os.PathLike[str], params: dict[str, Any] | None = None) -> FileShape:
    """Load and validate ``path`` with ``params`` (values the caller fixes). A parameter that has
    no default and was not given stays a required parameter of the engine's run; the file is
    validated with a stand-in value for it, since what the graph looks like cannot depend on a
    value passed only when it runs."""
    from orchestrator.config.graph import topological_order
    from orchestrator.config.plan import load_plan
    from orchestrator.plugins.discovery import load_plugins

    file = Path(path).resolve()
    declared = _declared_params(file)
    given = {name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in (params or {}).items()}
    standins = {name: "0" for name, default in declared.items() if default is None and name not in given}
    plan = load_plan(file, load_plugins().registry, params={**given, **standins})
    order = topological_order({name: spec.depends_on for name, spec in plan.pipelines.items()})
    pipelines = tuple(
        PipelineShape(name, plan.pipelines[name].depends_on, plan.pipelines[name].policies.retry, plan.pipelines[name].schedule)
        for name in order
    )
    defaults = {name: (params or {}).get(name, default) for name, default in declared.items()}
    required = frozenset(name for name, value in defaults.items() if value is None)
    return FileShape(file, file.stem, pipelines, defaults, required)


def _declared_params(file: Path) -> dict[str, Any]:
    """The ``params:`` mapping as written (the core has checked its shape by the time it matters:
    :func:`read_shape` validates the file right after)."""
    with file.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    declared = data.get("params") if isinstance(data, dict) else None
    return dict(declared) if isinstance(declared, dict) else {}

