"""The executor interface: where a pipeline runs.

The engine schedules the DAG and hands each ready pipeline to an executor as a
:class:`PipelineJob`; the executor decides where the work happens and returns the outcome. Concrete
executors are plugins (``register_executors``); the engine never imports one.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from orchestrator.runstate.progress import Continuation

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec, Plan
    from orchestrator.engine.ports import CheckpointStore, DeadLetterStore
    from orchestrator.events import EventSink, PipelineOutcome
    from orchestrator.plugins.discovery import Plugins


@dataclass(frozen=True, slots=True)
class PipelineJob:
    """One pipeline of one run, ready to execute.

    ``plan``, ``pipeline``, ``run_id`` and ``continuation`` are plain, picklable data, and so are
    the run's ``checkpoints`` and ``dead_letters`` stores: an executor that crosses a process
    boundary ships those (see :mod:`orchestrator.executors.remote`) and rebuilds plugins on the
    other side, handing the events it gets back to ``emit``. ``run_here`` runs the pipeline in the
    current process and event loop, reporting events as it goes.
    """

    plan: Plan
    pipeline: PipelineSpec
    run_id: str
    run_here: Callable[[], Awaitable[PipelineOutcome]]
    emit: EventSink
    continuation: Continuation = field(default_factory=Continuation)
    checkpoints: CheckpointStore | None = None
    dead_letters: DeadLetterStore | None = None
    #: for an executor that ``takes_graph``: the pipelines of this run, on the same executor, that
    #: this one depends on; it must run after them, and be skipped when one did not succeed
    upstream: tuple[str, ...] = ()
    #: the run's W3C trace context (``traceparent``): an executor that crosses a process
    #: boundary ships it with the job, so the worker's contexts carry it too
    trace_context: Mapping[str, str] = field(default_factory=dict)


class Executor(abc.ABC):
    """Runs pipelines. Used as an async context manager around a whole run, so a backend can start
    its workers once and stop them at the end.

    An executor whose pipelines run in other processes sets ``crosses_processes = True`` and says,
    in :meth:`refusals`, what it cannot ship (see :func:`orchestrator.executors.remote.unshippable`):
    the engine asks before anything runs."""

    crosses_processes: bool = False
    #: An executor that schedules dependencies itself sets this: the engine then submits every
    #: pipeline at once, each job naming its ``upstream``, instead of waiting for its parents to
    #: return (a cluster scheduler then sees the whole DAG and need not wait for the client).
    takes_graph: bool = False

    def refusals(self, plan: Plan, plugins: Plugins, pipelines: list[str]) -> list[str]:
        """What in these pipelines this executor cannot run, one line each (nothing, by default)."""
        return []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def handed_over(self, run_id: str, source: str) -> list[Any] | None:
        """The batches pipeline ``source`` handed over in run ``run_id``, fetched from where this
        executor ran it; None (the default) when it does not hold them, and the engine reads the
        run's handoff file instead. The engine asks when it makes the instances of a ``foreach:
        {from: SOURCE}``, which it does in its own process: an executor whose workers may be other
        machines answers, since the file is then on a worker's disk, not the engine's."""
        return None

    @abc.abstractmethod
    async def submit(self, job: PipelineJob) -> PipelineOutcome:
        """Run one pipeline and return its outcome. Failures of the pipeline's own steps come back
        inside the outcome; raising means the executor itself failed."""


def skipped_because(failed: list[str]) -> str:
    """The error of a pipeline skipped because the pipelines ``failed`` did not succeed: the same
    words whether the engine or an executor that ``takes_graph`` skipped it."""
    return f"skipped: depends on {', '.join(repr(d) for d in failed)}, which did not succeed"
