"""What runs on a Dask worker: one pipeline of a run, as one task.

This module is imported inside workers (Dask pickles :func:`run_pipeline` by reference), so it
imports nothing from ``distributed`` at module level: the worker has it loaded already, and the
client side can import this module for its types without paying for it twice.

Events cannot be handed to the run's event sink directly from another process. When the run
listens, each event is published on the worker with ``Worker.log_event`` under the executor's
topic, tagged with the job and this attempt; the client's subscription hands them to the sink. The
task returns how many events it published, so the client can wait until all of them arrived
before it reports the pipeline finished (events travel through the scheduler, the result does not).

Rows one pipeline hands to another (``extract: {from: ...}``) travel as Dask data: the task of a
source returns its batches in its result, and the task of a taker gets its source's result as an
argument, so the scheduler moves them from worker to worker; the client fetches a copy of the
result without them (:func:`reported`), and the rows themselves only for a source of a ``foreach:
{from: ...}``, whose instances it makes.
"""

from __future__ import annotations

import threading
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

from orchestrator.engine.handoff import collecting, given, hands_off
from orchestrator.events import FAILED, SKIPPED, SUCCEEDED, Event, Kind, PipelineOutcome, discard
from orchestrator.executors import skipped_because
from orchestrator.executors.remote import RemoteJob, run_remote, worker_plugins


@dataclass(frozen=True, slots=True)
class Relay:
    """Where a task publishes its events: the executor's topic and the job's token."""

    topic: str
    job: str


@dataclass(frozen=True, slots=True)
class TaskResult:
    """A pipeline's outcome, plus which attempt produced it and how many events that attempt
    published (a retried pipeline has several attempts; only the last one's count matters)."""

    outcome: PipelineOutcome
    attempt: str
    events: int
    #: the batches a source pipeline handed over, for the tasks of the pipelines taking them
    rows: list[Any] | None = None


class _Publisher:
    """An event sink that publishes to the scheduler; safe to call from any thread."""

    def __init__(self, relay: Relay, attempt: str) -> None:
        from distributed import get_worker  # loaded already: this runs inside a worker

        self.worker = get_worker()
        self.relay = relay
        self.attempt = attempt
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        message = {"job": self.relay.job, "attempt": self.attempt, "event": event.to_dict()}
        with self._lock:
            self.worker.log_event(self.relay.topic, message)
            self.count += 1

    @property
    def where(self) -> str:
        return str(self.worker.address)


def run_pipeline(job: RemoteJob, relay: Relay | None, *parents: TaskResult) -> TaskResult:
    """Run one pipeline in this worker; step failures come back inside the outcome, as on
    ``local``. ``parents`` are the results of the tasks of the pipelines it depends on (Dask
    runs this task once they are done): when one did not succeed, the pipeline is skipped. A step
    whose plugin this worker does not have fails the pipeline with a message naming the worker,
    instead of an obscure lookup error deep in the engine."""
    attempt = uuid.uuid4().hex
    publisher = _Publisher(relay, attempt) if relay is not None else None
    emit = publisher if publisher is not None else discard
    failed = [parent.outcome.name for parent in parents if parent.outcome.status != SUCCEEDED]
    missing = [] if failed else missing_steps(job)
    if failed:
        event = Event(Kind.PIPELINE_SKIPPED, job.run_id, job.pipeline, status=SKIPPED, error=skipped_because(failed))
        emit(event)
        outcome = PipelineOutcome.of(event)
    elif missing:
        where = publisher.where if publisher is not None else _worker_address()
        error = f"{missing[0]} is not registered on Dask worker {where}; every worker needs the same plugins installed"
        emit(Event(Kind.PIPELINE_FINISHED, job.run_id, job.pipeline, status=FAILED, error=error))
        outcome = PipelineOutcome(job.pipeline, FAILED, error=error)
    else:
        source = hands_off(job.plan.pipelines[job.pipeline])
        shipped = {parent.outcome.name: parent.rows for parent in parents if parent.rows is not None}
        with collecting(job.run_id, job.pipeline) if source else nullcontext() as kept, given(job.run_id, job.pipeline, shipped):
            outcome = run_remote(job, emit)
        rows = kept if source and outcome.status == SUCCEEDED else None
        return TaskResult(outcome, attempt, publisher.count if publisher is not None else 0, rows)
    return TaskResult(outcome, attempt, publisher.count if publisher is not None else 0)


def reported(result: TaskResult) -> TaskResult:
    """A source's result without its rows: what the client fetches (the rows stay on the workers)."""
    return replace(result, rows=None)


def missing_steps(job: RemoteJob) -> list[str]:
    """The job's steps whose plugin is not registered in this worker, as ``step 'x' (plugin)``."""
    registry = worker_plugins(job.plugin_env).registry
    spec = job.plan.pipelines[job.pipeline]
    return [
        f"step {step.id!r} ({step.plugin})"
        for steps in spec.phases.values()
        for step in steps
        if registry.get(step.phase, step.plugin) is None
    ]


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # called outside a worker (a thread-based cluster's direct call)
        return "(unknown)"


def event_from(message: Any) -> Event:
    """The :class:`Event` a published message carries."""
    return Event.from_dict(message["event"])
