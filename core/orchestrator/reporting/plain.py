"""Plain log lines, for logs and pipes: one line per pipeline, phase and step event."""

from __future__ import annotations

import logging
import time

from orchestrator.events import Event, RunResult
from orchestrator.reporting import Reporter, rejected_lines, summary_rows, where

HEADERS = ("pipeline", "status", "rows", "elapsed", "error")


class PlainReporter(Reporter):
    _second = -1
    _text = ""

    def __call__(self, event: Event) -> None:
        line = self._line(event)
        if line:
            self.write(f"{self._stamp(int(event.time))} {line}\n")

    def log(self, record: logging.LogRecord) -> None:
        self.write(f"{self._stamp(int(record.created))} {where(record)} {record.levelname.lower()}: {record.getMessage()}\n")

    def _stamp(self, second: int) -> str:
        """``HH:MM:SS``, formatted once per second rather than once per line."""
        if second != self._second:
            self._second, self._text = second, time.strftime("%H:%M:%S", time.localtime(second))
        return self._text

    def _line(self, event: Event) -> str | None:
        kind = event.kind
        where = " ".join(filter(None, [event.pipeline, event.phase, event.step]))
        if kind == "run_started":
            return f"run {event.run_id} started"
        if kind in ("pipeline_started", "phase_started", "step_started"):
            return f"{where} started" + (f" ({event.plugin})" if event.plugin else "")
        if kind in ("step_finished", "phase_finished", "pipeline_finished"):
            rows = f" rows={event.rows}" if event.rows is not None else ""
            rows += f" rejected={event.rejected}" if event.rejected else ""
            error = f": {event.error}" if event.error else ""
            return f"{where} {event.status or 'finished'}{rows} in {event.elapsed or 0:.3f}s{error}"
        if kind == "step_failed":
            return f"{where} failed after {event.elapsed or 0:.3f}s: {event.error}"
        if kind in ("pipeline_reused", "step_reused"):
            rows = f" rows={event.rows}" if event.rows is not None else ""
            return f"{where} done in the earlier attempt of this run{rows}"
        if kind == "pipeline_skipped":
            return f"{where} {event.error}"
        if kind in ("step_retry", "pipeline_retry"):
            return f"{where} failed: {event.error}; retrying ({event.status}) in {event.elapsed or 0:.2f}s"
        if kind == "retry_exhausted":
            return f"{where} failed on its last attempt ({event.attempts} in all): {event.error}"
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
