"""``--log-format json``: the steps' log lines leave the reporter's stream for stderr, one JSON
object each (time, level, run, pipeline and step ids, message), through
:func:`orchestrator.diagnostics.say`, beside the process's other messages; every other event
goes to the reporter as before."""

from __future__ import annotations

from orchestrator.diagnostics import say
from orchestrator.events import Event, Kind, RunResult
from orchestrator.reporting.base import Redact, Reporter


class LogsApart(Reporter):
    """A reporter whose events but the log lines go to ``inner``."""

    def __init__(self, inner: Reporter, redact: Redact) -> None:
        super().__init__(inner.stream, redact)
        self.inner = inner

    def __call__(self, event: Event) -> None:
        if event.kind is Kind.LOG:
            say(
                self.redact(event.message or ""), event.level or "info", run_id=event.run_id, pipeline=event.pipeline,
                step=event.step, when=event.time,
            )
        else:
            self.inner(event)

    def summary(self, result: RunResult) -> None:
        self.inner.summary(result)

    def close(self) -> None:
        self.inner.close()
