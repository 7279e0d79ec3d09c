"""The source rows of the handoff figure, called through ``python.call`` by both of its sides.

Async, as the other figures' steps are, so both sides time the orchestrator's own work (the
handover, or the JSON Lines file between the pipelines), not worker-thread hand-offs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any


async def rows(count: int, batch: int = 5_000) -> AsyncIterator[list[dict[str, Any]]]:
    """``count`` small rows ``{"id": i, "name": "x"}``, ``batch`` at a time."""
    for start in range(0, count, batch):
        yield [{"id": i, "name": "x"} for i in range(start, min(start + batch, count))]


async def discard(batch: list[dict[str, Any]]) -> int:
    """The source's own load when it only hands its rows over: accept them, write nothing."""
    return len(batch)
