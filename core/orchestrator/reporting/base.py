"""What every reporter shares: the event-sink base class with its redacted, pipe-safe writing,
and the summary's lines and rows. Kept apart from :func:`orchestrator.reporting.make_reporter` so
that each reporter module imports it without importing the package that picks among them."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO

from orchestrator.events import Event, RunResult

Redact = Callable[[str], str]


class Reporter:
    """Base of the reporters: an event sink with a summary at the end."""

    def __init__(self, stream: IO[str], redact: Redact) -> None:
        self.stream = stream
        self.redact = redact
        self.closed = False

    def write(self, text: str) -> None:
        """Write redacted text, flushed at once so a log being followed (``| tee``, ``tail -f``)
        shows a step as it starts. When the reader went away (``orchestrator run | head``), stop
        writing but let the run finish: a closed pipe must not abort a load half-way."""
        if self.closed:
            return
        try:
            self.stream.write(self.redact(text))
            self.stream.flush()
        except BrokenPipeError:
            self.reader_gone()

    def reader_gone(self) -> None:
        """The reader of the stream went away: write nothing more, and make the flushes still to
        come (including the interpreter's at exit) harmless."""
        self.closed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
        except (OSError, ValueError):
            pass

    def __call__(self, event: Event) -> None:
        raise NotImplementedError

    def summary(self, result: RunResult) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the terminal (live display); nothing to do for line reporters."""

def where(event: Event) -> str:
    """``pipeline step`` of a step's log event (``pipeline`` alone for a pipeline's)."""
    return " ".join(filter(None, [event.pipeline, event.step]))


def rejected_lines(result: RunResult) -> list[str]:
    """One line per pipeline whose steps rejected rows: how many, by which step, and the file of
    those that were dead-lettered."""
    lines = []
    for outcome in result.pipelines.values():
        steps = [(step.step, step.rejected) for step in outcome.steps if step.rejected]
        if steps:
            total = sum(count for _, count in steps)
            each = ", ".join(f"{name} {count}" for name, count in steps)
            line = f"{outcome.name}: {total} row{'' if total == 1 else 's'} rejected ({each})"
            lines.append(line + (f"; dead letters in {outcome.dead_letters}" if outcome.dead_letters else ""))
    return lines


def summary_rows(result: RunResult) -> list[tuple[str, str, str, str, str]]:
    """The final table's rows: pipeline, status, rows, elapsed, error."""
    rows = []
    for outcome in result.pipelines.values():
        loaded = outcome.rows
        rows.append(
            (
                outcome.name,
                outcome.status,
                "-" if loaded is None else str(loaded),
                f"{outcome.elapsed:.2f}s",
                outcome.error or "",
            )
        )
    return rows
