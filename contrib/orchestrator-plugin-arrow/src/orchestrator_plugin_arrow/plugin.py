"""What orchestrator-plugin-arrow registers: step names, their args schemas, where their code is.

The orchestrator imports this module at every start, for every command, so it imports neither
pyarrow nor the step modules: each step is registered as a ``"module:function"`` string and its
module (with pyarrow) is imported the first time a pipeline runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator import hookimpl

from orchestrator_plugin_arrow import schemas

if TYPE_CHECKING:
    from orchestrator.plugins.registry import Register

_HERE = "orchestrator_plugin_arrow"


@hookimpl
def register_extractors(register: Register) -> None:
    """Readers that yield Arrow record batches, so the data streams without Python row objects."""
    register(
        "arrow.read_csv",
        f"{_HERE}.csv_steps:read_csv",
        schema=schemas.READ_CSV,
        description="Read a CSV file as Arrow record batches (streaming, multi-threaded parsing).",
    )
    register(
        "arrow.read_parquet",
        f"{_HERE}.parquet_steps:read_parquet",
        schema=schemas.READ_PARQUET,
        description="Read a Parquet file as Arrow record batches.",
    )


@hookimpl
def register_transformers(register: Register) -> None:
    """Converters between Arrow batches and row dicts, and a column selector."""
    register(
        "arrow.to_rows",
        f"{_HERE}.row_steps:to_rows",
        schema=schemas.TO_ROWS,
        description="Turn each Arrow record batch into a list of row dicts, for row-based steps.",
    )
    register(
        "arrow.from_rows",
        f"{_HERE}.row_steps:from_rows",
        schema=schemas.FROM_ROWS,
        description="Turn each list of row dicts into an Arrow record batch, for Arrow steps.",
    )
    register(
        "arrow.select",
        f"{_HERE}.row_steps:select",
        schema=schemas.SELECT,
        description="Keep, reorder and rename columns of each Arrow record batch (no copy).",
    )


@hookimpl
def register_loaders(register: Register) -> None:
    """Writers that take Arrow record batches and replace their file only when all were written."""
    register(
        "arrow.write_parquet",
        f"{_HERE}.parquet_steps:write_parquet",
        schema=schemas.WRITE_PARQUET,
        description="Write Arrow record batches to a Parquet file, atomically.",
    )
    register(
        "arrow.write_csv",
        f"{_HERE}.csv_steps:write_csv",
        schema=schemas.WRITE_CSV,
        description="Write Arrow record batches to a CSV file, atomically.",
    )
