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
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from orchestrator.events import EventSink, PipelineOutcome, discard

#: the class of a step's error in the core's one-line failure text (``step 'x' failed: Name: ...``)
_ERROR_TYPE = re.compile(r"failed: ([A-Za-z_][\w.]*)(?::|$)")


class PipelineFailed(Exception):
    """The pipeline did not succeed; the message is the core's one-line reason. It fails the
    engine's task, which the engine may then retry."""

    def __init__(self, pipeline: str, run_id: str, status: str, error: str | None) -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.status = status
        self.error = error or status
        super().__init__(f"pipeline {pipeline!r} {status} (run {run_id}): {self.error}")

    def __reduce__(self) -> tuple[Any, ...]:
        # an engine may pickle a failed task's exception (Prefect keeps it as the task's result)
        return (PipelineFailed, (self.pipeline, self.run_id, self.status, self.error))

    def error_type(self) -> str | None:
        """The class name of the failed step's error, when the reason names one."""
        found = _ERROR_TYPE.search(self.error)
        return found.group(1).rpartition(".")[2] if found else None

    def worth_retrying(self, on: Iterable[str]) -> bool:
        """Whether the pipeline's ``retry: {on: [...]}`` lets the engine retry this failure: always
        without ``on``, else only when the failed step raised one of those classes. Classes are
        told by name (subclasses cannot be told outside the pipeline's process)."""
        names = {name.rpartition(".")[2] for name in on}
        return not names or self.error_type() in names


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
        raise PipelineFailed(pipeline, result.run_id, outcome.status, outcome.error)
    return outcome
