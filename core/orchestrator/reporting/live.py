"""The terminal view: a live table of pipelines (phase, step, rows, elapsed) and a final summary."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import IO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orchestrator.events import Event, Kind, RunResult
from orchestrator.reporting.base import Redact, Reporter, rejected_lines, summary_rows, where

_STYLES = {"succeeded": "green", "failed": "bold red", "skipped": "yellow", "interrupted": "yellow", "running": "cyan", "waiting": "dim"}


@dataclass
class _Row:
    status: str = "waiting"
    phase: str = ""
    step: str = ""
    rows: int = 0
    so_far: int = 0
    started: float | None = None
    elapsed: float | None = None
    #: (phase, step) of the first step that failed: where a failed pipeline stopped, although
    #: its loads, which ran beside a streaming extract, started (and failed) after it
    failed_at: tuple[str, str] | None = None


class LiveReporter(Reporter):
    def __init__(self, stream: IO[str], redact: Redact) -> None:
        super().__init__(stream, redact)
        self.console = Console(file=stream)
        self.rows: dict[str, _Row] = {}
        self.live = Live(console=self.console, refresh_per_second=8, get_renderable=self._table, transient=True)
        self.live.start()

    def __call__(self, event: Event) -> None:
        kind = event.kind
        if kind is Kind.LOG:
            self._log(event)
            return
        if event.pipeline is None:
            return
        row = self.rows.setdefault(event.pipeline, _Row())
        if kind is Kind.PIPELINE_STARTED:
            row.status, row.started = "running", time.perf_counter()
        elif kind in (Kind.PHASE_STARTED, Kind.STEP_STARTED):
            row.phase = event.phase or row.phase
            row.step = event.step or row.step
        elif kind is Kind.STEP_PROGRESS and event.rows is not None and event.phase == "extract":
            row.so_far = event.rows  # rows so far of the extract that streams
        elif kind in (Kind.STEP_FINISHED, Kind.STEP_REUSED) and event.rows is not None and event.phase in ("extract", "transform"):
            row.so_far = 0
            row.rows = event.rows if event.phase == "transform" else row.rows + event.rows
        elif kind is Kind.STEP_FAILED and row.failed_at is None:
            row.failed_at = (event.phase or row.phase, event.step or row.step)
        elif kind in (Kind.PIPELINE_FINISHED, Kind.PIPELINE_SKIPPED, Kind.PIPELINE_REUSED):
            row.status, row.elapsed, row.step = event.status or "finished", event.elapsed, ""
            if row.status == "failed" and row.failed_at is not None:
                row.phase, row.step = row.failed_at

    def _table(self) -> Table:
        table = Table(box=None, pad_edge=False)
        for header in ("pipeline", "status", "phase", "step", "rows", "elapsed"):
            table.add_column(header, justify="right" if header in ("rows", "elapsed") else "left")
        now = time.perf_counter()
        for name, row in self.rows.items():
            elapsed = row.elapsed if row.elapsed is not None else (now - row.started if row.started else 0.0)
            table.add_row(
                name,
                Text(row.status, style=_STYLES.get(row.status, "")),
                row.phase,
                self.redact(row.step),
                f"{row.rows + row.so_far:,}",
                f"{elapsed:.1f}s",
            )
        return table

    def _log(self, event: Event) -> None:
        """Printed above the live table, which rich keeps drawn below."""
        text = Text(f"{where(event)} {event.level}: ", style="dim")
        text.append(self.redact(event.message or ""))
        self.console.print(text)

    def close(self) -> None:
        self.live.stop()

    def summary(self, result: RunResult) -> None:
        self.close()
        table = Table(title=f"run {result.run_id}", title_justify="left")
        for header in ("pipeline", "status", "rows", "elapsed", "error"):
            table.add_column(header, overflow="fold")
        for name, status, rows, elapsed, error in summary_rows(result):
            table.add_row(name, Text(status, style=_STYLES.get(status, "")), rows, elapsed, self.redact(error))
        self.console.print(table)
        for line in rejected_lines(result):
            self.console.print(self.redact(line), highlight=False)
        verdict = "[yellow]interrupted[/]" if result.interrupted else "[green]succeeded[/]" if result.ok else "[bold red]failed[/]"
        self.console.print(f"run {verdict} in {result.elapsed:.2f}s", highlight=False)
