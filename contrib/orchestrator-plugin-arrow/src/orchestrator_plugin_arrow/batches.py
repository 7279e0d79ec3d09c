"""Checking what reaches an Arrow step: record batches of one schema, or a clear error saying
what arrived instead and how to fix the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
from orchestrator.errors import StepError


def describe_kind(batch: Any) -> str:
    """What a non-Arrow batch is, in the words a pipeline author uses."""
    if isinstance(batch, list):
        if not batch:
            return "an empty list"
        if isinstance(batch[0], dict):
            return "a list of row dicts"
        return f"a list of {type(batch[0]).__name__}"
    if isinstance(batch, dict):
        return "a dict (one row, or the mapping of several extract steps)"
    return type(batch).__name__


def record_batches(batch: Any, step: str) -> list[pa.RecordBatch]:
    """A batch as record batches (a Table gives its chunks, without copying)."""
    if isinstance(batch, pa.RecordBatch):
        return [batch]
    if isinstance(batch, pa.Table):
        return batch.to_batches()
    raise StepError(
        f"{step} expects Arrow record batches, got {describe_kind(batch)}; add arrow.from_rows before it to convert rows"
    )


def same_schema(batches: Iterable[Any], step: str) -> Iterator[pa.RecordBatch]:
    """Every record batch of the stream, each checked against the first one's schema: a file has
    one schema, and writing a batch whose columns differ would fail deep inside the writer or,
    worse, write columns under the wrong names."""
    first: pa.Schema | None = None
    for number, batch in enumerate(batches, 1):
        for part in record_batches(batch, step):
            if first is None:
                first = part.schema
            elif not part.schema.equals(first, check_metadata=False):
                raise StepError(
                    f"batch {number}: {schema_difference(first, part.schema)}"
                )
            yield part


def schema_difference(first: pa.Schema, other: pa.Schema) -> str:
    """One line saying how a batch's schema differs from the first batch's."""
    if first.names != other.names:
        missing = [name for name in first.names if name not in other.names]
        extra = [name for name in other.names if name not in first.names]
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"extra {', '.join(extra)}")
        detail = "; ".join(parts) or "same columns in another order"
        fix = (
            "; a file has the columns of its first batch: give every row every column (None where it has "
            "no value) and their types in arrow.from_rows' types, or drop the extra ones with arrow.select"
            if extra
            else ""
        )
        return f"columns differ from the first batch ({detail}): {', '.join(other.names)} vs {', '.join(first.names)}{fix}"
    for before, now in zip(first, other, strict=True):
        if not before.type.equals(now.type):
            return (
                f"column {now.name!r} is {now.type} here but {before.type} in the first batch; "
                "fix its type upstream ('types' of arrow.from_rows, 'column_types' of arrow.read_csv)"
            )
    return "schema differs from the first batch (nullability or field metadata)"
