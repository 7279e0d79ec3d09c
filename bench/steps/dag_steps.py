"""Trivial sync extract and load functions for the dag-1000 figure: called through ``python.call``
by the orchestrator's pipelines, and as one plain function per task by the raw ``client.submit``
baseline, so both sides do the same work on the Dask workers."""

from __future__ import annotations

from typing import Any


def extract() -> list[dict[str, Any]]:
    """Two small rows, as an extract from a tiny source would return."""
    return [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}]


def load(batch: list[dict[str, Any]]) -> int:
    """Accept the rows without writing them anywhere; report how many there were."""
    return len(batch)


def pipeline(*upstream: int) -> int:
    """The baseline's task: extract then load, after the upstream tasks (passed as arguments)."""
    return load(extract())
