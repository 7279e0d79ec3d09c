"""A pipeline file as a Prefect flow: one task per pipeline, each waiting for the tasks of the
pipelines it depends on (``wait_for``), retried as its ``retry:`` says, the file's parameters as
the flow's parameters.

Each task runs its pipeline through the core (:func:`orchestrator.adapters.run_pipeline`), so
streaming, checkpoints, dead letters and the run history behave as under ``orchestrator run``;
the core's run id is made of the flow's name, the flow run's id and the pipeline, the same on
every retry of the task, so a retry continues the run instead of loading again. A flow run that a
deployment's schedule started gets the schedule's data interval as ``${schedule.*}``. A failed
pipeline fails its task; Prefect leaves the tasks that wait for it ``NotReady`` (they never run)
and goes on with the others; the flow run fails when any task did not complete.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestrator.adapters import FileShape, PipelineShape, read_shape, run_pipeline
from orchestrator.runstate.layout import run_id_from
from orchestrator_plugin_prefect.retries import task_retry_options

if TYPE_CHECKING:
    from prefect import Flow, Task
    from prefect.states import State

#: the flow parameter that narrows a flow run to some pipelines (and what they depend on)
SELECTION = "pipelines"


def pipeline_flow(
    path: str | os.PathLike[str], *, params: Mapping[str, Any] | None = None, name: str | None = None,
) -> Flow[..., list[Any]]:
    """The flow of the pipeline file at ``path``. ``params`` sets defaults of the flow's
    parameters (the file's own defaults otherwise; a parameter without one must be passed when the
    flow runs); ``name`` names the flow (by default the file's name without ``.yaml``). Besides the
    file's parameters the flow takes ``pipelines``: the pipelines to run, with what they depend on
    (all of them by default), which is how a schedule of one pipeline runs only that one."""
    from prefect import Flow

    shape = read_shape(path, dict(params or {}))
    if SELECTION in shape.params:
        from orchestrator.errors import ConfigError, Problem

        raise ConfigError([Problem(str(shape.path), 0, f"$.params.{SELECTION}", (
            f"the parameter {SELECTION!r} has the name of the flow's own parameter that selects pipelines; "
            "rename it to run this file on Prefect"
        ))])
    tasks = {pipeline.name: _task(shape, pipeline) for pipeline in shape.pipelines}

    def run_file(**given: Any) -> list[State[Any]]:
        from prefect.context import FlowRunContext

        context = FlowRunContext.get()
        assert context is not None and context.flow_run is not None
        run = context.flow_run
        wanted = given.pop(SELECTION, None)
        selected = shape.selected(wanted)
        interval = data_interval(shape, wanted, run.expected_start_time) if run.auto_scheduled else None
        values = {key: value for key, value in given.items() if value is not None}
        futures: dict[str, Any] = {}
        for pipeline in shape.pipelines:
            if pipeline.name in selected:
                waits = [futures[upstream] for upstream in pipeline.depends_on if upstream in futures]
                run_id = run_id_from(context.flow.name, str(run.id), pipeline.name)
                futures[pipeline.name] = tasks[pipeline.name].submit(run_id, values, interval, wait_for=waits)
        for future in futures.values():
            future.wait()
        return [future.state for future in futures.values()]

    run_file.__signature__ = _signature(shape)  # type: ignore[attr-defined]
    run_file.file_shape = shape  # type: ignore[attr-defined]  # what deployments are made from
    # where Prefect looks for the flow when it runs a deployment: the module that built it
    run_file.__module__ = sys._getframe(1).f_globals.get("__name__", __name__)
    return Flow(
        run_file, name=name or shape.stem, description=f"The pipelines of {shape.path.name}, one task each.",
        validate_parameters=False,
    )


def built_from(flow: Flow[..., Any]) -> FileShape:
    """The file a flow of :func:`pipeline_flow` was built from."""
    shape = getattr(flow.fn, "file_shape", None)
    if not isinstance(shape, FileShape):
        raise TypeError(f"{flow.name!r} was not built by pipeline_flow(); only such a flow has a pipeline file's schedules")
    return shape


def _task(shape: FileShape, pipeline: PipelineShape) -> Task[..., dict[str, Any]]:
    """The task that runs ``pipeline`` of the file through the core."""
    from prefect import Task
    from prefect.cache_policies import NO_CACHE

    def run_one(run_id: str, params: dict[str, Any], interval: tuple[datetime, datetime] | None) -> dict[str, Any]:
        outcome = run_pipeline(shape.path, pipeline.name, run_id, params, interval)
        return {"status": outcome.status, "rows": outcome.rows, "elapsed": outcome.elapsed}

    return Task(
        run_one, name=pipeline.name, task_run_name=pipeline.name, cache_policy=NO_CACHE,
        **task_retry_options(pipeline.retry),
    )


def data_interval(shape: FileShape, wanted: Iterable[str] | None, scheduled: datetime | None) -> tuple[datetime, datetime] | None:
    """The data interval of a flow run that a deployment's schedule started at ``scheduled``
    for one pipeline (see :mod:`orchestrator_plugin_prefect.deploy`): the tick of that pipeline's
    ``schedule:`` at that time, as ``orchestrator serve`` would give it, for every task of the run."""
    names = list(wanted or ())
    if len(names) != 1 or scheduled is None:
        return None
    return shape.pipeline(names[0]).interval_at(scheduled)


def _signature(shape: FileShape) -> inspect.Signature:
    """The flow's parameters: the file's (each with its default, its type taken from it), then the
    pipeline selection. A default that refers to the environment (``${WAREHOUSE:-...}``) is shown
    as None, which leaves the value to the file when the task runs."""
    parameters = [
        inspect.Parameter(SELECTION, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=list[str] | None)
    ]
    for key, default in shape.params.items():
        if key in shape.required:
            parameters.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=str | int | float | bool))
        elif isinstance(default, str) and "${" in default:
            parameters.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str | None))
        else:
            parameters.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=type(default)))
    return inspect.Signature(sorted(parameters, key=lambda p: p.default is not inspect.Parameter.empty))
