"""The file's schedules as Prefect deployments, and serving them.

Each pipeline with a ``schedule:`` becomes one deployment of the file's flow, named after the
pipeline, whose schedule starts flow runs with ``pipelines=[that pipeline]`` (so a run runs it
with what it depends on, as ``orchestrator serve`` does) and whose concurrency carries the
schedule's ``overlap``. :func:`serve` hands them all to :func:`prefect.serve`, which starts the
flow runs when they are due; a Prefect server (or Prefect Cloud) keeps the schedules.

Prefect starts each scheduled flow run in a new process, which imports the flow from its
entrypoint: the flow must be a module-level name of an importable file, as in the docs' example.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator_plugin_prefect.flow import SELECTION, built_from
from orchestrator_plugin_prefect.schedules import concurrency, prefect_schedule

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment


def deployment(flow: Flow[..., Any], pipeline: str, *, entrypoint: str | None = None) -> RunnerDeployment:
    """The deployment that runs ``pipeline`` of ``flow``'s file on its ``schedule:``.
    ``entrypoint`` (``path/to/flows.py:name``) says where Prefect finds the flow; by default the
    module-level name the flow was assigned to in the module that built it."""
    shape = built_from(flow)
    spec = shape.pipeline(pipeline).schedule
    if spec is None:
        scheduled = [p.name for p in shape.pipelines if p.schedule is not None]
        raise ValueError(f"pipeline {pipeline!r} of {shape.path.name} has no schedule: (scheduled: {', '.join(scheduled) or 'none'})")
    parameters = {SELECTION: [pipeline]}
    made = flow.to_deployment(
        name=pipeline, schedules=[prefect_schedule(shape.path, pipeline, spec, parameters)],
        concurrency_limit=concurrency(spec), description=f"{pipeline} of {shape.path.name} on its schedule",
    )
    made.entrypoint = entrypoint or _entrypoint(flow)
    return made


def deployments(flow: Flow[..., Any], *, entrypoint: str | None = None) -> list[RunnerDeployment]:
    """One deployment per pipeline of ``flow``'s file that has a ``schedule:``."""
    shape = built_from(flow)
    return [deployment(flow, p.name, entrypoint=entrypoint) for p in shape.pipelines if p.schedule is not None]


def serve(flow: Flow[..., Any], *, entrypoint: str | None = None, **options: Any) -> None:
    """Serve every schedule of ``flow``'s file until stopped (``options`` go to
    :func:`prefect.serve`, such as ``limit``)."""
    from prefect import serve as prefect_serve

    made = deployments(flow, entrypoint=entrypoint)
    if not made:
        raise ValueError(f"{built_from(flow).path.name} has no pipeline with a schedule:; nothing to serve")
    prefect_serve(*made, **options)


def _entrypoint(flow: Flow[..., Any]) -> str:
    """``file.py:name`` of the module-level name that holds ``flow`` in the module that built it."""
    module = sys.modules.get(flow.fn.__module__)
    file = getattr(module, "__file__", None)
    names = [name for name, value in vars(module).items() if value is flow] if module is not None else []
    if file is None or not names:
        raise ValueError(
            "Prefect runs a deployment's flow by importing it: assign the flow to a module-level name of a .py "
            "file (flow = pipeline_flow(...)), or pass entrypoint='path/to/file.py:name'"
        )
    return f"{os.path.relpath(Path(file).resolve(), Path.cwd())}:{names[0]}"
