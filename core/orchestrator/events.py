"""What a run reports as it goes (events) and what it ends with (outcomes).

The engine only emits; reporters (terminal, plain lines, JSON) decide how to show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"
INTERRUPTED = "interrupted"


@dataclass(slots=True)
class Event:
    """One thing that happened. ``kind`` is one of ``run_started``, ``pipeline_started``,
    ``phase_started``, ``step_started``, ``step_finished``, ``step_failed``, ``step_retry``,
    ``phase_finished``, ``pipeline_finished``, ``pipeline_retry``, ``pipeline_skipped``,
    ``retry_exhausted``, ``pipeline_reused``, ``step_reused``, ``run_finished``. ``attempts`` is
    set on ``retry_exhausted`` only; ``rejected`` on ``step_finished`` and ``step_failed`` of a step
    that rejected rows (skipped or dead-lettered them); rows_in on ``step_finished`` of a
    transform or load step: the rows it was given (``rows`` are those it returned or wrote)."""

    kind: str
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

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


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


@dataclass(slots=True)
class PipelineOutcome:
    """How one pipeline ended. ``error`` is a one-line message naming the failed step."""

    name: str
    status: str
    elapsed: float = 0.0
    error: str | None = None
    steps: list[StepOutcome] = field(default_factory=list)
    attempts: int = 1
    #: the file of the rows its steps dead-lettered in this run, when there are any
    dead_letters: str | None = None

    @property
    def rows(self) -> int | None:
        """Rows that reached the load phase: the last transform's output, else everything the
        extract steps produced. (Each load's own count is in ``steps``: fanning out to two
        targets writes the same rows twice but still moves them once.)"""
        transforms = [s for s in self.steps if s.phase == "transform"]
        if transforms:
            return transforms[-1].rows
        counts = [s.rows for s in self.steps if s.phase == "extract"]
        return None if not counts or None in counts else sum(counts)  # type: ignore[arg-type]


@dataclass(slots=True)
class RunResult:
    run_id: str
    pipelines: dict[str, PipelineOutcome]
    elapsed: float

    @property
    def ok(self) -> bool:
        return all(p.status == SUCCEEDED for p in self.pipelines.values())

    @property
    def interrupted(self) -> bool:
        return any(p.status == INTERRUPTED for p in self.pipelines.values())
