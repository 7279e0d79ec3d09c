"""``arrow.read_csv`` and ``arrow.write_csv``: CSV files as streams of Arrow record batches.

Parsing and formatting happen inside Arrow (in C++, using several threads for parsing), so no
Python object is made per row or per value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from orchestrator.context import StepContext
from orchestrator.errors import StepError

from orchestrator_plugin_arrow.batches import same_schema
from orchestrator_plugin_arrow.csv_errors import BadRows, explain
from orchestrator_plugin_arrow.datatypes import schema_of
from orchestrator_plugin_arrow.errors import first_line
from orchestrator.files import atomic_path, input_path

STEP_READ, STEP_WRITE = "arrow.read_csv", "arrow.write_csv"


def read_csv(
    ctx: StepContext,
    path: str,
    block_size: int | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    column_types: dict[str, str] | None = None,
    include_columns: list[str] | None = None,
    newlines_in_values: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Yield the file as record batches of about ``block_size`` bytes of CSV each. A generator, so
    the engine streams: only the batches in flight are in memory, however large the file. Column
    types are inferred from the first block unless ``column_types`` fixes them."""
    full = input_path(ctx, path)
    types = schema_of(column_types)
    bad_rows = BadRows()
    options = {
        "read_options": pacsv.ReadOptions(block_size=block_size, encoding=encoding),
        "parse_options": pacsv.ParseOptions(
            delimiter=delimiter,
            newlines_in_values=newlines_in_values,
            invalid_row_handler=bad_rows,
        ),
        "convert_options": pacsv.ConvertOptions(
            column_types=types, include_columns=include_columns
        ),
    }
    done = 0
    try:
        reader = pacsv.open_csv(full, **options)
        _check_types(types, reader.schema, path)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            done += batch.num_rows
            yield batch
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        raise StepError(
            explain(exc, full, path, done, bad_rows, delimiter, encoding)
        ) from None


def _check_types(types: dict[str, pa.DataType], schema: pa.Schema, path: str) -> None:
    """Arrow ignores a type given for a column that is not read; a misspelt name must not pass."""
    unknown = sorted(set(types) - set(schema.names))
    if unknown:
        raise StepError(
            f"{path}: 'column_types' names columns not read from the file: {', '.join(unknown)} (columns: {', '.join(schema.names)})"
        )


def write_csv(
    ctx: StepContext,
    batches: Iterable[Any],
    path: str,
    delimiter: str = ",",
    include_header: bool = True,
    quoting: str = "needed",
) -> int:
    """Write every record batch to one CSV file, header from the first batch's schema. The file
    replaces the target only when every batch was written; returns the rows written."""
    options = pacsv.WriteOptions(
        include_header=include_header, delimiter=delimiter, quoting_style=quoting
    )
    rows = 0
    with atomic_path(ctx, path) as temp:
        writer: pacsv.CSVWriter | None = None
        try:
            for batch in same_schema(batches, STEP_WRITE):
                if writer is None:
                    writer = pacsv.CSVWriter(
                        str(temp), batch.schema, write_options=options
                    )
                writer.write_batch(batch)
                rows += batch.num_rows
        except pa.ArrowException as exc:
            raise StepError(
                f"cannot write {ctx.path(path)}: {first_line(exc)}"
            ) from None
        finally:
            if writer is not None:
                writer.close()
    return rows
