"""One pipeline of the file, run by the core as one task of an engine.

Every task runs its pipeline alone (``only=True``: the engine has already run what it depends
on) under a run id made of the engine's own names, so the engine's run and the core's history
name the same run and a retried task continues that run: the pipelines and loads that completed
are reused and the rest goes on from its checkpoints, never loading a row twice. The pipeline's
own ``retry:`` is the engine's to carry out (``pipeline_retry=False``), so attempts do not
multiply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestrator.events import EventSink, PipelineOutcome, discard

if TYPE_CHECKING:
    from orchestrator.config.policies import RetryPolicy


class PipelineFailed(Exception):
    """The pipeline did not succeed; the message is the core's one-line reason. It fails the
    engine's task, which the engine may then retry. ``error_classes`` are the
    :func:`~orchestrator.config.policies.error_classes` of the failed step's own error (empty when
    no exception failed it): the engine's task sees only this exception, and a retry policy's
    ``on:`` is judged by them, base classes included."""

    def __init__(
        self, pipeline: str, run_id: str, status: str, error: str | None, error_classes: tuple[str, ...] = (),
    ) -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.status = status
        self.error = error or status
        self.error_classes = tuple(error_classes)
        super().__init__(f"pipeline {pipeline!r} {status} (run {run_id}): {self.error}")

    def __reduce__(self) -> tuple[Any, ...]:
        # an engine may pickle a failed task's exception (Prefect keeps it as the task's result)
        return (PipelineFailed, (self.pipeline, self.run_id, self.status, self.error, self.error_classes))

    def worth_retrying(self, policy: RetryPolicy) -> bool:
        """Whether the pipeline's ``retry:`` lets the engine retry this failure: the core's own
        judgement (:meth:`RetryPolicy.retries`), so a pipeline is retried on the same failures on
        every engine: never a config error, and with ``on:`` only an error of one of those
        classes or of a class derived from one."""
        return policy.retries_classes(self.error_classes)


def run_pipeline(
    path: str | os.PathLike[str], pipeline: str, run_id: str, params: Mapping[str, Any],
    data_interval: tuple[datetime, datetime] | None = None, *, on_event: EventSink = discard,
) -> PipelineOutcome:
    """Run ``pipeline`` of the file alone through the core (recorded in the file's history under
    ``run_id``) and return its outcome; raise :class:`PipelineFailed` when it did not succeed.
    ``on_event`` sees the run's events (an engine's task log). A file or a run the core refuses
    raises the core's own error (ConfigError, LaunchError), which no retry would get past."""
    import orchestrator

    result = orchestrator.run(
        path, pipelines=[pipeline], only=True, pipeline_retry=False, run_id=run_id, params=dict(params),
        data_interval=data_interval, on_event=on_event,
    )
    outcome = result.pipelines[pipeline]
    if not result.ok:
        raise PipelineFailed(pipeline, result.run_id, outcome.status, outcome.error, outcome.error_classes)
    return outcome
