"""Error text helpers shared by the steps."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message: Arrow messages may carry C++ context on further
    lines, and the orchestrator reports a step failure as one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
