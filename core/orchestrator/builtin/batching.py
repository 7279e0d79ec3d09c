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
        return [batch]
    if isinstance(batch, list) and (not batch or isinstance(batch[0], dict)):
        return batch
    from orchestrator.errors import StepError

    kind = type(batch[0]).__name__ if isinstance(batch, list) else type(batch).__name__
    raise StepError(f"{step} expects rows as mappings (dicts), got {kind}")
