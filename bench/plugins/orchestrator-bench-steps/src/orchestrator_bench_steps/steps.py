"""The benchmark steps themselves. The baselines call these same functions, so a figure's ratio
compares the orchestrator's overhead with a direct call of identical work."""

from __future__ import annotations

from typing import Any

import anyio


async def noop_extract(ctx: Any) -> list[Any]:
    """An async extract that has nothing to do (it stays on the event loop, no worker thread)."""
    return []


def noop_transform(ctx: Any, data: Any) -> Any:
    """A sync transform that passes its input through; returning ``None`` would drop the batch."""
    return data


async def noop_load(ctx: Any, batches: Any) -> None:
    """An async load that writes nothing; ``None`` means "no row count"."""


async def sleep_extract(ctx: Any, seconds: float = 0.1) -> list[Any]:
    """Stand-in for I/O-bound extraction: await, then return nothing."""
    await anyio.sleep(seconds)
    return []
