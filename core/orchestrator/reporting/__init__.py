"""Showing a run: live on a terminal, plain lines when piped, JSON events for tools.

Every reporter is an event sink (``reporter(event)``) with a ``summary(result)`` at the end, and
passes all its text through the run's redaction so secrets never reach the screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from orchestrator.events import Event, RunResult

Redact = Callable[[str], str]


class Reporter:
    """Base of the reporters: an event sink with a summary at the end."""

    def __init__(self, stream: IO[str], redact: Redact) -> None:
        self.stream = stream
        self.redact = redact

    def __call__(self, event: Event) -> None:
        raise NotImplementedError

    def summary(self, result: RunResult) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the terminal (live display); nothing to do for line reporters."""


def make_reporter(kind: str, stream: IO[str], redact: Redact) -> Reporter:
    """``json``, ``live`` or ``plain``; the heavier live display is imported only when used."""
    if kind == "json":
        from orchestrator.reporting.jsonlines import JsonReporter

        return JsonReporter(stream, redact)
    if kind == "live":
        from orchestrator.reporting.live import LiveReporter

        return LiveReporter(stream, redact)
    from orchestrator.reporting.plain import PlainReporter

    return PlainReporter(stream, redact)


def summary_rows(result: RunResult) -> list[tuple[str, str, str, str, str]]:
    """The final table's rows: pipeline, status, rows loaded, elapsed, error."""
    rows = []
    for outcome in result.pipelines.values():
        loaded = outcome.rows_loaded
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
