"""The executor interface: where a pipeline runs.

The engine schedules the DAG and hands each ready pipeline to an executor as a
:class:`PipelineJob`; the executor decides where the work happens and returns the outcome. Concrete
executors are plugins (``register_executors``); the engine never imports one.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Self

from orchestrator.runstate.progress import Continuation

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec, Plan
    from orchestrator.events import EventSink, PipelineOutcome


@dataclass(frozen=True, slots=True)
class PipelineJob:
    """One pipeline of one run, ready to execute.

    ``plan``, ``pipeline`` and ``run_id`` are plain, picklable data: an executor that crosses a
    process boundary ships those (see :mod:`orchestrator.executors.remote`) and rebuilds plugins on
    the other side, handing the events it gets back to ``emit``. ``run_here`` runs the pipeline in
    the current process and event loop, reporting events as it goes.
    """

    plan: Plan
    pipeline: PipelineSpec
    run_id: str
    run_here: Callable[[], Awaitable[PipelineOutcome]]
    emit: EventSink
    continuation: Continuation = field(default_factory=Continuation)


class Executor(abc.ABC):
    """Runs pipelines. Used as an async context manager around a whole run, so a backend can start
    its workers once and stop them at the end.

    An executor whose pipelines run in other processes sets ``crosses_processes = True``: the engine
    then checks, before anything runs, that every step it will ship can be pickled and comes from
    an installed plugin."""

    crosses_processes: bool = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    @abc.abstractmethod
    async def submit(self, job: PipelineJob) -> PipelineOutcome:
        """Run one pipeline and return its outcome. Failures of the pipeline's own steps come back
        inside the outcome; raising means the executor itself failed."""
