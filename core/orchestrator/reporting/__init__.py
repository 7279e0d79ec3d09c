"""Showing a run: live on a terminal, plain lines when piped, JSON events for tools.

Every reporter is an event sink (``reporter(event)``) with a ``summary(result)`` at the end, and
passes all its text through the run's redaction so secrets never reach the screen.
"""

from __future__ import annotations

import logging
from typing import IO

from orchestrator.reporting.base import Redact, Reporter


def route_step_logs() -> None:
    """Let what steps log at ``info`` and above through, to the run's stream only: the engine
    turns each record into a ``log`` event (see :class:`orchestrator.engine.steplogs.StepLogs`),
    which the reporter shows like any other event, rather than Python's default handler."""
    step_logs = logging.getLogger("orchestrator.run")
    step_logs.setLevel(logging.INFO)
    step_logs.propagate = False


def make_reporter(kind: str, stream: IO[str], redact: Redact, *, logs_to_stderr: bool = False) -> Reporter:
    """``json``, ``live`` or ``plain``; the heavier live display is imported only when used.
    ``logs_to_stderr`` (``--log-format json``): the steps' log lines go to stderr as JSON lines,
    with the process's other messages, rather than to the reporter."""
    if logs_to_stderr:
        from orchestrator.reporting.logs import LogsApart

        return LogsApart(make_reporter(kind, stream, redact), redact)
    if kind == "json":
        from orchestrator.reporting.jsonlines import JsonReporter

        return JsonReporter(stream, redact)
    if kind == "live":
        from orchestrator.reporting.live import LiveReporter

        return LiveReporter(stream, redact)
    from orchestrator.reporting.plain import PlainReporter

    return PlainReporter(stream, redact)
