"""The process's own messages on stderr (errors, warnings, notices), and under
``--log-format json`` the run's step log lines too: as text, exactly as written (the default), or
as one JSON object per line for a log collector.

A JSON line has ``time`` (UTC, ISO 8601), ``level``, ``message`` and, where known, ``run_id``,
``pipeline`` and ``step``. The format is the process's: ``orchestrator --log-format json`` (or
``ORCHESTRATOR_LOG_FORMAT=json``) sets it once, before any command runs. Every message goes through
the redactions registered here (a loaded plan's secrets, URL passwords) in JSON, and text is
redacted by whoever wrote it, as it always was: a secret never reaches a log, whichever format.

Kept at the bottom of the layers (it imports nothing of the package), so the CLI, the server, the
notification dispatcher and plugin discovery all write through it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

TEXT, JSON = "text", "json"
FORMATS = (TEXT, JSON)
#: the environment variable that sets the format when ``--log-format`` is not given
VARIABLE = "ORCHESTRATOR_LOG_FORMAT"

_redactions: list[Callable[[str], str]] = []
_format = [os.environ.get(VARIABLE, TEXT) if os.environ.get(VARIABLE) in FORMATS else TEXT]


def configure(log_format: str) -> None:
    """Write every message from now on as ``text`` or ``json``, with no redaction registered yet
    (each command registers those of what it loads)."""
    _format[0] = log_format
    _redactions.clear()


def log_format() -> str:
    return _format[0]


def add_redaction(redact: Callable[[str], str]) -> None:
    """Pass every message from now on through ``redact`` too (a loaded plan's secrets)."""
    _redactions.append(redact)


def say(
    message: str, level: str = "error", *, run_id: str | None = None, pipeline: str | None = None,
    step: str | None = None, when: float | None = None, stream: TextIO | None = None,
    details: Mapping[str, str] | None = None,
) -> None:
    """Write one message to stderr (or ``stream``): text as it is (its writer redacted it), JSON
    through the registered redactions too (a step's log line carries what the step wrote). In
    JSON, a leading ``error: `` or ``warning: `` (the text form's way of giving the level) is
    left out of the message, and ``details`` are fields of their own after the ids (a usage
    error's ``usage`` and ``hint``)."""
    out = sys.stderr if stream is None else stream
    if _format[0] == TEXT:
        print(message, file=out, flush=True)
        return
    for redact in _redactions:
        message = redact(message)
    import json

    prefix = f"{level}: "
    record = {
        "time": _iso(time.time() if when is None else when),
        "level": level,
        "message": message.removeprefix(prefix),
        **{key: value for key, value in (("run_id", run_id), ("pipeline", pipeline), ("step", step)) if value is not None},
        **(details or {}),
    }
    print(json.dumps(record, ensure_ascii=False), file=out, flush=True)


def _iso(when: float) -> str:
    """``2026-12-07T02:58:01.123Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z"
