"""Shared helpers of the file and database steps."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_BATCH_SIZE = 5000


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to ``size`` items (``itertools.batched`` arrives in Python 3.12)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def rows_of(batch: Any, step: str) -> list[dict[str, Any]]:
    """A batch as a list of row mappings, or a clear error naming what arrived instead."""
    if isinstance(batch, dict):
        if _is_sources(batch):
            from orchestrator.errors import StepError

            raise StepError(
                f"{step} received one mapping of row lists ({', '.join(map(str, batch))}), which is what several "
                "extract steps hand on when the pipeline has no transform; add a transform that combines them "
                "into rows (python.call), or give each source a pipeline of its own"
            )
        return [batch]
    if isinstance(batch, list) and (not batch or isinstance(batch[0], dict)):
        return batch
    from orchestrator.errors import StepError

    kind = type(batch[0]).__name__ if isinstance(batch, list) else type(batch).__name__
    raise StepError(f"{step} expects rows as mappings (dicts), got {kind}")


def _is_sources(batch: dict[Any, Any]) -> bool:
    """Whether a mapping looks like the ``{step_id: rows}`` of several extract steps rather than a
    row: every value a list of rows, at least one of them not empty."""
    values = batch.values()
    return (
        all(isinstance(v, list) and all(isinstance(row, dict) for row in v[:1]) for v in values)
        and any(values)
    )
