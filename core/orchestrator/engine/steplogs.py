"""Step log lines as events of the run's stream: what steps log through ``context.logger``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Self

from orchestrator.events import Event, EventSink, Kind, discard


class StepLogs(logging.Handler):
    """While a run goes on, what its steps log through ``context.logger`` (records carrying the
    run's id, at the level the ``orchestrator.run`` logger lets through) becomes ``log`` events of
    the run's stream, so every consumer sees them in order with the rest. Installed once per run:
    an assembler that keeps it longer than the engine runs (the CLI, for notifications sent at
    the end) installs it first, and the engine's then adds nothing."""

    def __init__(self, run_id: str, emit: EventSink, redact: Callable[[str], str]) -> None:
        super().__init__(logging.INFO)
        self.run_id = run_id
        self.sink = emit
        self.redact = redact
        self.logger = logging.getLogger("orchestrator.run")
        self.installed = False

    def __enter__(self) -> Self:
        present = any(isinstance(h, StepLogs) and h.run_id == self.run_id for h in self.logger.handlers)
        if self.sink is not discard and not present:
            self.logger.addHandler(self)
            self.installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            self.logger.removeHandler(self)
            self.installed = False

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "run_id", None) != self.run_id:
            return
        try:
            self.sink(Event(
                Kind.LOG, self.run_id, getattr(record, "pipeline", None), step=getattr(record, "step", None),
                level=record.levelname.lower(), message=self.redact(record.getMessage()), time=record.created,
            ))
        except Exception:  # noqa: BLE001 - a log line must never fail the step that logged it
            self.handleError(record)
