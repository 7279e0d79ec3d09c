"""Timeouts: a call given at most so many seconds, enforced with an anyio cancel scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from orchestrator.config.policies import describe_seconds
from orchestrator.errors import OrchestratorError


class StepTimeout(OrchestratorError):
    """A step (or pipeline) took longer than its ``timeout``."""


async def within(timeout: float | None, call: Callable[[], Awaitable[Any]]) -> Any:
    """``await call()``, failing with :class:`StepTimeout` after ``timeout`` seconds."""
    if timeout is None:
        return await call()
    try:
        with anyio.fail_after(timeout):
            return await call()
    except TimeoutError:
        raise StepTimeout(f"timed out after {describe_seconds(timeout)}") from None
