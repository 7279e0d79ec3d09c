"""``arrow.read_parquet`` and ``arrow.write_parquet``: Parquet files as streams of record batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from orchestrator.context import StepContext
from orchestrator.errors import StepError

from orchestrator_plugin_arrow.batches import same_schema
from orchestrator_plugin_arrow.errors import first_line
from orchestrator.files import atomic_path, input_path

STEP_WRITE = "arrow.write_parquet"
#: Rows per row group unless set: 262,144, the default of Polars; larger groups cost memory while written.
DEFAULT_ROW_GROUP = 512 * 512
DEFAULT_BATCH_SIZE = 65536


def read_parquet(
    ctx: StepContext,
    path: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    columns: list[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Yield the file's rows as record batches of ``batch_size`` rows, one row group at a time,
    so memory holds a row group, never the whole file."""
    full = input_path(ctx, path)
    try:
        parquet = pq.ParquetFile(full)
    except (pa.ArrowException, OSError) as exc:
        raise StepError(
            f"{path}: not a readable Parquet file: {first_line(exc)}"
        ) from None
    with parquet:
        names = parquet.schema_arrow.names
        unknown = [name for name in columns or () if name not in names]
        if unknown:  # Arrow would silently return no such column
            raise StepError(
                f"{path}: no column {', '.join(map(repr, unknown))} in the file (columns: {', '.join(names)})"
            )
        try:
            yield from parquet.iter_batches(batch_size=batch_size, columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise StepError(f"{path}: cannot read: {first_line(exc)}") from None


def write_parquet(
    ctx: StepContext,
    batches: Iterable[Any],
    path: str,
    compression: str = "snappy",
    row_group_size: int = DEFAULT_ROW_GROUP,
) -> int:
    """Write every record batch to one Parquet file with the first batch's schema; returns the
    rows written.

    Batches are gathered (by reference, the loads share them) until ``row_group_size`` rows and
    written as one row group: a row group per incoming batch would leave readers thousands of tiny
    groups. The file replaces the target only when every batch was written."""
    rows = 0
    with atomic_path(ctx, path) as temp:
        writer: pq.ParquetWriter | None = None
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        try:
            for batch in same_schema(batches, STEP_WRITE):
                if writer is None:
                    writer = pq.ParquetWriter(
                        str(temp), batch.schema, compression=compression
                    )
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= row_group_size:
                    table = pa.Table.from_batches(pending)
                    whole = pending_rows - pending_rows % row_group_size
                    writer.write_table(
                        table.slice(0, whole), row_group_size=row_group_size
                    )
                    rest = table.slice(whole)
                    pending, pending_rows = rest.to_batches(), rest.num_rows
                rows += batch.num_rows
            if writer is None:  # no batch at all: a valid file without columns
                writer = pq.ParquetWriter(
                    str(temp), pa.schema([]), compression=compression
                )
            if pending_rows:
                writer.write_table(
                    pa.Table.from_batches(pending), row_group_size=row_group_size
                )
        except pa.ArrowException as exc:
            raise StepError(
                f"cannot write {ctx.path(path)}: {first_line(exc)}"
            ) from None
        finally:
            if writer is not None:
                writer.close()
    return rows
