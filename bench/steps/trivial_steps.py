"""Trivial extract and load functions, called through ``python.call`` by the cold-start and
many-pipelines figures and directly by their baselines.

They are ``async`` so that both sides run them on the event loop: the figures then time the
orchestrator's own work (config, plugins, scheduling, events), not worker-thread hand-offs.
"""

from __future__ import annotations

from typing import Any


async def extract() -> list[dict[str, Any]]:
    """Two small rows, as an extract from a tiny source would return."""
    return [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}]


async def load(batch: list[dict[str, Any]]) -> int:
    """Accept the rows without writing them anywhere; report how many there were."""
    return len(batch)


async def extract_region(region: str) -> list[dict[str, Any]]:
    """The same two rows, tagged with the item a foreach instance (or its written-out twin) was given."""
    return [{"id": 1, "name": "ada", "region": region}, {"id": 2, "name": "grace", "region": region}]
