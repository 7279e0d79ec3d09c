"""The args schemas of the Arrow steps: plain data, no pyarrow, so the plugin module that
imports them stays cheap at every start of the orchestrator."""

from __future__ import annotations

from typing import Any


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _prop(
    kind: str | list[str], description: str, example: Any, **extra: Any
) -> dict[str, Any]:
    return {"type": kind, "description": description, "examples": [example], **extra}


PATH = _prop(
    "string",
    "File path, relative to the pipeline file.",
    "data/orders.csv",
    minLength=1,
)
DELIMITER = _prop("string", "Field separator.", ",", minLength=1, maxLength=1)
TYPE_NAMES = (
    "Arrow type names: int8..int64, uint8..uint64, float32, float64 (or int, float), string (or str), "
    "bool, date32, timestamp[s|ms|us|ns], timestamp[us, tz=UTC], decimal128(precision, scale), binary, null."
)
COLUMN_TYPES = _prop(
    "object",
    "Column name -> Arrow type, for columns whose type must not be guessed. "
    + TYPE_NAMES,
    {"order_id": "int64", "amount": "decimal128(12, 2)", "day": "date32"},
    additionalProperties={"type": "string", "minLength": 1},
)
COLUMNS = _prop(
    "array",
    "Columns to keep, in this order.",
    ["order_id", "amount"],
    items={"type": "string", "minLength": 1},
    minItems=1,
)

READ_CSV = _object(
    {
        "path": PATH,
        "block_size": _prop(
            "integer",
            "Bytes of CSV parsed into one record batch (default 1 MiB); larger blocks mean fewer, bigger batches.",
            4194304,
            minimum=4096,
        ),
        "delimiter": DELIMITER,
        "encoding": _prop("string", "Text encoding of the file.", "utf-8", minLength=1),
        "column_types": COLUMN_TYPES,
        "include_columns": {
            **COLUMNS,
            "description": "Read only these columns, in this order (others are skipped while parsing).",
        },
        "newlines_in_values": _prop(
            "boolean",
            "Allow quoted values to span lines (slower: blocks are parsed serially).",
            True,
        ),
    },
    ["path"],
)
READ_PARQUET = _object(
    {
        "path": PATH,
        "batch_size": _prop(
            "integer", "Rows per record batch (default 65,536).", 65536, minimum=1
        ),
        "columns": {
            **COLUMNS,
            "description": "Read only these columns, in this order.",
        },
    },
    ["path"],
)
WRITE_PARQUET = _object(
    {
        "path": PATH,
        "compression": {
            "description": "Compression codec of the column chunks.",
            "enum": ["snappy", "zstd", "gzip", "brotli", "lz4", "none"],
            "default": "snappy",
            "examples": ["zstd"],
        },
        "row_group_size": _prop(
            "integer",
            "Rows per row group (default 262,144): batches are gathered until this many rows, then written as one group; larger groups cost memory while written.",
            262144,
            minimum=1,
        ),
    },
    ["path"],
)
WRITE_CSV = _object(
    {
        "path": PATH,
        "delimiter": DELIMITER,
        "include_header": _prop(
            "boolean", "Write the column names as the first line.", True
        ),
        "quoting": {
            "description": "needed: quote strings (Arrow's default); all_valid: quote every value; none: quote nothing (values holding the delimiter, a quote or a newline are then an error).",
            "enum": ["needed", "all_valid", "none"],
            "default": "needed",
            "examples": ["none"],
        },
    },
    ["path"],
)
TO_ROWS = _object({}, [])
FROM_ROWS = _object({"types": COLUMN_TYPES}, [])
SELECT = {
    **_object(
        {
            "columns": COLUMNS,
            "rename": _prop(
                "object",
                "Old column name -> new name, applied after 'columns'.",
                {"amount": "amount_eur"},
                additionalProperties={"type": "string", "minLength": 1},
                minProperties=1,
            ),
        },
        [],
    ),
    "minProperties": 1,
}
