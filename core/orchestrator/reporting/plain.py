"""Plain log lines, for logs and pipes: one line per pipeline, phase and step event.

Lines are not flushed one by one (on a 1,000-pipeline run that was an eighth of the run's time):
a background thread flushes what was written every ``FLUSH_SECONDS``, and :meth:`close` flushes
the rest, which the CLI calls however the run ended (an interrupted one too). A followed log
(``| tee``, ``tail -f``) is at most that far behind.
"""

from __future__ import annotations

import threading
import time
from typing import IO

from orchestrator.events import Event, Kind, RunResult
from orchestrator.reporting.base import Redact, Reporter, rejected_lines, summary_rows, where

HEADERS = ("pipeline", "status", "rows", "elapsed", "error")
#: the kinds of nearly every line, looked up once (reading a member off its enum costs a lookup)
_STARTS = frozenset({Kind.PIPELINE_STARTED, Kind.PHASE_STARTED, Kind.STEP_STARTED})
_ENDS = frozenset({Kind.STEP_FINISHED, Kind.PHASE_FINISHED, Kind.PIPELINE_FINISHED})
#: how far behind the run a followed log may be
FLUSH_SECONDS = 0.2


class PlainReporter(Reporter):
    _second = -1
    _text = ""

    def __init__(self, stream: IO[str], redact: Redact) -> None:
        super().__init__(stream, redact)
        self.lock = threading.Lock()
        self.dirty = False
        self.stopped = threading.Event()
        self.flusher = threading.Thread(target=self._flush_every, name="orchestrator-output", daemon=True)
        self.flusher.start()

    def __call__(self, event: Event) -> None:
        # the starts and ends of pipelines, phases and steps are nearly every line: formatted here,
        # without the walk through every kind that the rest takes
        kind = event.kind
        line: str | None
        if kind in _STARTS:
            plugin = event.plugin
            line = f"{_place(event)} started ({plugin})" if plugin else f"{_place(event)} started"
        elif kind in _ENDS:
            line = _ended(event)
        else:
            line = self._line(event)
            if not line:
                return
        self.write(f"{self._stamp(int(event.time))} {line}\n")

    def write(self, text: str) -> None:
        """Write redacted text, flushed within ``FLUSH_SECONDS`` (see the module)."""
        if self.closed:
            return
        text = self.redact(text)
        with self.lock:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self.reader_gone()
            self.dirty = True

    def flush(self) -> None:
        with self.lock:
            if not self.dirty or self.closed:
                return
            self.dirty = False
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.reader_gone()

    def _flush_every(self) -> None:
        while not self.stopped.wait(FLUSH_SECONDS):
            self.flush()

    def close(self) -> None:
        self.stopped.set()
        self.flush()

    def _stamp(self, second: int) -> str:
        """``HH:MM:SS``, formatted once per second rather than once per line."""
        if second != self._second:
            self._second, self._text = second, time.strftime("%H:%M:%S", time.localtime(second))
        return self._text

    def _line(self, event: Event) -> str | None:
        """The line of an event of the other kinds (None: it has none)."""
        kind = event.kind
        place = _place(event)
        if kind is Kind.LOG:
            return f"{where(event)} {event.level}: {event.message}"
        if kind is Kind.RUN_STARTED:
            return f"run {event.run_id} started"
        if kind is Kind.STEP_FAILED:
            return f"{place} {event.status} after {event.elapsed or 0:.3f}s: {event.error}"
        if kind in (Kind.PIPELINE_REUSED, Kind.STEP_REUSED):
            rows = f" rows={event.rows}" if event.rows is not None else ""
            return f"{place} done in the earlier attempt of this run{rows}"
        if kind is Kind.PIPELINE_SKIPPED:
            return f"{place} {event.error}"
        if kind in (Kind.STEP_RETRY, Kind.PIPELINE_RETRY):
            return f"{place} failed: {event.error}; retrying ({event.status}) {_wait(event.elapsed or 0)}"
        if kind is Kind.RETRY_EXHAUSTED:
            return f"{place} failed on its last attempt ({event.attempts} in all): {event.error}"
        if kind is Kind.STEP_PROGRESS:
            return f"{place} rows so far={event.rows if event.rows is not None else event.rows_in}"
        return None

    def summary(self, result: RunResult) -> None:
        rows = [HEADERS, *summary_rows(result)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS) - 1)]
        lines = [""]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
            lines.append("  ".join(cells).rstrip())
        rejected = rejected_lines(result)
        if rejected:
            lines += ["", *rejected]
        state = "interrupted" if result.interrupted else "succeeded" if result.ok else "failed"
        lines += ["", f"run {result.run_id} {state} in {result.elapsed:.2f}s"]
        self.write("\n".join(lines) + "\n")
        self.flush()


def _place(event: Event) -> str:
    """``pipeline phase step``, of what the event has."""
    pipeline, phase, step = event.pipeline, event.phase, event.step
    if pipeline and phase and step:
        return f"{pipeline} {phase} {step}"
    return " ".join(filter(None, (pipeline, phase, step)))


def _ended(event: Event) -> str:
    rows = f" rows={event.rows}" if event.rows is not None else ""
    if event.rejected:
        rows += f" rejected={event.rejected}"
    error = f": {event.error}" if event.error else ""
    return f"{_place(event)} {event.status or 'finished'}{rows} in {event.elapsed or 0:.3f}s{error}"


def _wait(seconds: float) -> str:
    """The wait before a retry, as it will be: ``in 0.84s``, ``in 3ms``, or ``at once`` (never a
    wait of ``0.00s``, which reads as a measurement gone wrong)."""
    if seconds >= 0.01:
        return f"in {seconds:.2f}s"
    return f"in {seconds * 1000:.0f}ms" if seconds >= 0.0005 else "at once"
