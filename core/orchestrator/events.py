"""The one record of a run: a stream of typed events, and the outcomes derived from it.

The engine only emits. Everything that shows or keeps a run consumes the same stream: the run
result (:class:`StepOutcome` is built from a step's closing event), the run history, the notifier,
the reporters and ``--json``, the test kit's recorder, and the observer hooks (fired by the engine
where it records each event, see :mod:`orchestrator.engine.record`).

Why one :class:`Event` class with an enum :class:`Kind`, rather than one dataclass per kind: every
consumer dispatches on the kind and reads the same few fields (where it happened, status, rows,
elapsed, error), so one slotted class keeps them simple and keeps construction cheap on the hot
path (one object per step end); it pickles as is across a process boundary, and its ``--json`` form
is unchanged. :class:`Kind` is a :class:`~enum.StrEnum`, so a kind *is* its documented name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"
INTERRUPTED = "interrupted"
#: the statuses of a run that succeeded
_OK = frozenset({SUCCEEDED, SKIPPED})


class Kind(StrEnum):
    """What happened. The table in ``docs/design/engine.md`` lists what each kind carries."""

    RUN_STARTED = "run_started"
    RUN_FINISHED = "run_finished"
    PIPELINE_STARTED = "pipeline_started"
    PIPELINE_FINISHED = "pipeline_finished"
    PIPELINE_RETRY = "pipeline_retry"
    PIPELINE_SKIPPED = "pipeline_skipped"
    PIPELINE_REUSED = "pipeline_reused"
    PHASE_STARTED = "phase_started"
    PHASE_FINISHED = "phase_finished"
    STEP_STARTED = "step_started"
    #: rows so far of a step whose data streams, at most every ``PROGRESS_SECONDS``
    STEP_PROGRESS = "step_progress"
    STEP_FINISHED = "step_finished"
    STEP_FAILED = "step_failed"
    STEP_RETRY = "step_retry"
    STEP_REUSED = "step_reused"
    RETRY_EXHAUSTED = "retry_exhausted"
    #: a line a step (or a hook) logged through ``context.logger``
    LOG = "log"


#: the ends of a step: each gives the step's :class:`StepOutcome`
STEP_ENDS = frozenset({Kind.STEP_FINISHED, Kind.STEP_FAILED, Kind.STEP_REUSED})
#: looked up once: reading an enum member off its class costs a lookup per use
_STEP_REUSED = Kind.STEP_REUSED


@dataclass(slots=True)
class Event:
    """One thing that happened. ``attempt`` is the step's (or, on pipeline events, the
    pipeline's) attempt; ``attempts`` is set on ``retry_exhausted`` only; ``rejected`` on
    ``step_finished`` and ``step_failed`` of a step that rejected rows (skipped or dead-lettered
    them); ``rows_in`` on ``step_finished`` of a transform or load step: the rows it was given
    (``rows`` are those it returned or wrote; on ``step_progress`` the rows so far). ``error`` is
    redacted text, never an exception: events cross process boundaries and are stored.

    What the work used, on the ends of step attempts (``step_finished``, ``step_failed``,
    ``step_retry``), pipelines (``pipeline_finished``) and runs (``run_finished``), measured where
    it ran (a worker process's events carry the worker's figures; see
    :mod:`orchestrator.engine.usage` for how CPU is attributed): ``cpu`` seconds (user + system),
    ``rss`` the peak resident memory of the process in bytes, ``bytes_read`` and ``bytes_written``
    as the steps reported them, and ``cost`` as the config's ``cost:`` model estimates it
    (:mod:`orchestrator.config.cost`). ``rows`` on ``pipeline_finished`` are the pipeline's rows
    (:attr:`PipelineOutcome.rows`).

    ``error_type`` is the class name of the exception behind it, where there was one (the
    step's own error, not the wrapper naming the step), for telemetry that groups failures."""

    kind: Kind
    run_id: str
    pipeline: str | None = None
    phase: str | None = None
    step: str | None = None
    plugin: str | None = None
    status: str | None = None
    rows: int | None = None
    elapsed: float | None = None
    error: str | None = None
    time: float = field(default_factory=time.time)
    attempts: int | None = None
    rejected: int | None = None
    rows_in: int | None = None
    attempt: int | None = None
    level: str | None = None
    message: str | None = None
    cpu: float | None = None
    rss: int | None = None
    bytes_read: int | None = None
    bytes_written: int | None = None
    cost: float | None = None
    error_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON-ready data, without the fields that do not apply."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["kind"] = self.kind.value
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """The event :meth:`to_dict` gave (an event that travelled as plain data)."""
        return cls(**{**data, "kind": Kind(data["kind"])})


_FIELDS = tuple(f.name for f in fields(Event))

EventSink = Callable[[Event], None]


def discard(event: Event) -> None:
    """An event sink that ignores everything (library use, benchmarks)."""


@dataclass(slots=True)
class StepOutcome:
    phase: str
    step: str
    plugin: str
    status: str
    rows: int | None = None
    elapsed: float = 0.0
    error: str | None = None
    attempts: int = 1
    #: rows the step rejected: skipped or dead-lettered (see ``on_error``)
    rejected: int = 0

    @classmethod
    def of(cls, event: Event) -> StepOutcome:
        """The outcome a step's closing event (one of :data:`STEP_ENDS`) records."""
        reused = event.kind is _STEP_REUSED
        return cls(
            event.phase or "", event.step or "", event.plugin or "", event.status or SUCCEEDED, event.rows,
            event.elapsed or 0.0, event.error, 0 if reused else event.attempt or 1, event.rejected or 0,
        )


@dataclass(slots=True)
class PipelineOutcome:
    """How one pipeline ended. ``error`` is a one-line message naming the failed step;
    ``error_classes`` the :func:`~orchestrator.config.policies.error_classes` of that step's own
    error (empty when no exception failed it), so an engine that retries the pipeline judges its
    ``retry: {on: [...]}`` as the core does."""

    name: str
    status: str
    elapsed: float = 0.0
    error: str | None = None
    steps: list[StepOutcome] = field(default_factory=list)
    attempts: int = 1
    #: the file of the rows its steps dead-lettered in this run, when there are any
    dead_letters: str | None = None
    #: what it used and cost, as its closing event says (None: not measured, or no ``cost:``)
    cpu: float | None = None
    rss: int | None = None
    cost: float | None = None
    error_classes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, event: Event, steps: list[StepOutcome] | None = None, dead_letters: str | None = None,
        error_classes: tuple[str, ...] = (),
    ) -> PipelineOutcome:
        """The outcome a pipeline's closing event (finished, skipped or reused) records."""
        return cls(
            event.pipeline or "", event.status or FAILED, event.elapsed or 0.0, event.error, steps or [],
            event.attempt or 1, dead_letters, event.cpu, event.rss, event.cost, error_classes,
        )

    @property
    def rows(self) -> int | None:
        """Rows that reached the load phase (see :func:`moved_rows`)."""
        return moved_rows(self.steps)


def moved_rows(steps: list[StepOutcome]) -> int | None:
    """Rows that reached the load phase: the last transform's output, else everything the
    extract steps produced. (Each load's own count is in ``steps``: fanning out to two targets
    writes the same rows twice but still moves them once.)"""
    transforms = [s for s in steps if s.phase == "transform"]
    if transforms:
        return transforms[-1].rows
    counts = [s.rows for s in steps if s.phase == "extract"]
    return None if not counts or None in counts else sum(counts)  # type: ignore[arg-type]


@dataclass(slots=True)
class RunResult:
    run_id: str
    pipelines: dict[str, PipelineOutcome]
    elapsed: float

    @property
    def ok(self) -> bool:
        """Every pipeline succeeded or was skipped (by a condition, or because one upstream did
        not succeed: then that one failed)."""
        return all(p.status in _OK for p in self.pipelines.values())

    @property
    def interrupted(self) -> bool:
        return any(p.status == INTERRUPTED for p in self.pipelines.values())
