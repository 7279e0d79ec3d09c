"""``arrow.to_rows``, ``arrow.from_rows`` and ``arrow.select``: transforms that let Arrow steps
and row-based steps (python.call, sqlite.write, csv.write) share a pipeline."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from orchestrator.context import StepContext
from orchestrator.errors import StepError

from orchestrator_plugin_arrow.batches import describe_kind
from orchestrator_plugin_arrow.datatypes import schema_of
from orchestrator_plugin_arrow.errors import first_line


def to_rows(ctx: StepContext, batch: Any) -> list[dict[str, Any]]:
    """A record batch (or table) as a list of row dicts, the form row-based steps take. This
    makes a Python object per value, so it belongs right before the step that needs rows. An
    empty batch (an earlier transform kept no row) stays empty."""
    if isinstance(batch, (pa.RecordBatch, pa.Table)):
        return batch.to_pylist()
    if isinstance(batch, list) and not batch:
        return []
    hint = (
        "; the data is already rows, remove arrow.to_rows"
        if describe_kind(batch) == "a list of row dicts"
        else ""
    )
    raise StepError(
        f"arrow.to_rows expects Arrow record batches, got {describe_kind(batch)}{hint}"
    )


def from_rows(
    ctx: StepContext, batch: Any, types: dict[str, str] | None = None
) -> pa.RecordBatch | None:
    """A list of row dicts as one record batch. Columns are the first row's keys followed by keys
    first seen in later rows (a missing key is null). Types are inferred per batch unless
    ``types`` fixes them: give them when a column may be empty in a whole batch, or consecutive
    batches would disagree on its type. An empty list is dropped (``None``)."""
    if isinstance(batch, dict):
        batch = [batch]
    if not isinstance(batch, list) or (batch and not isinstance(batch[0], dict)):
        hint = (
            "; the data is already Arrow, remove arrow.from_rows"
            if isinstance(batch, (pa.RecordBatch, pa.Table))
            else ""
        )
        raise StepError(
            f"arrow.from_rows expects rows (a list of dicts), got {describe_kind(batch)}{hint}"
        )
    if not batch:
        return None
    fixed = schema_of(types)
    names = _column_names(batch)
    unknown = sorted(set(fixed) - set(names))
    if unknown:
        raise StepError(
            f"'types' names columns not in the rows: {', '.join(unknown)} (columns: {', '.join(names)})"
        )
    arrays = []
    for name in names:
        try:
            arrays.append(
                pa.array([row.get(name) for row in batch], type=fixed.get(name))
            )
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise StepError(f"column {name!r}: {first_line(exc)}") from None
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _column_names(rows: list[dict[str, Any]]) -> list[str]:
    names = dict.fromkeys(rows[0])
    width = len(names)
    for row in rows:
        if len(row) != width or row.keys() != names.keys():
            names.update(dict.fromkeys(row))
            width = len(names)
    return list(names)


def select(
    ctx: StepContext,
    batch: Any,
    columns: list[str] | None = None,
    rename: dict[str, str] | None = None,
) -> pa.RecordBatch | pa.Table | None:
    """Keep ``columns`` (in that order), then rename. Both only rearrange references to the same
    column buffers: nothing is copied. An empty batch (an earlier transform kept no row) is dropped."""
    if isinstance(batch, list) and not batch:
        return None
    if not isinstance(batch, (pa.RecordBatch, pa.Table)):
        raise StepError(
            f"arrow.select expects Arrow record batches, got {describe_kind(batch)}; add arrow.from_rows before it"
        )
    names = batch.schema.names
    wanted = columns or names
    missing = [name for name in [*wanted, *(rename or {})] if name not in names]
    if missing:
        raise StepError(
            f"no column {', '.join(map(repr, dict.fromkeys(missing)))} (columns: {', '.join(names)})"
        )
    if columns:
        batch = batch.select(columns)
    if rename:
        new_names = [rename.get(name, name) for name in batch.schema.names]
        if isinstance(batch, pa.Table):
            return batch.rename_columns(new_names)
        # RecordBatch.rename_columns arrived in pyarrow 16; from_arrays reuses the same arrays
        return pa.RecordBatch.from_arrays(batch.columns, names=new_names)
    return batch
