"""What orchestrator-plugin-sql registers: ``sql.query``, ``sql.write`` and ``sql.execute``.

The orchestrator imports this module at every start, so it imports nothing but the hook marker: the
steps are registered as ``"module:function"`` strings and their modules, with SQLAlchemy and the
database driver, are imported only when a pipeline first runs one of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator import hookimpl

if TYPE_CHECKING:
    from orchestrator.plugins.registry import Register

_HERE = "orchestrator_plugin_sql"
DEFAULT_BATCH_SIZE = 5000


def _prop(kind: str | list[str], description: str, example: Any, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, "examples": [example], **extra}


URL = _prop(
    "string",
    "SQLAlchemy database URL, e.g. postgresql://user:password@host:5432/db or sqlite:///out/warehouse.db "
    "(a relative SQLite path is relative to the pipeline file). Use ${ENV_VAR} to keep the password out of the file.",
    "${PG_URL}",
    minLength=1,
)
BATCH_SIZE = _prop("integer", "Rows per batch.", DEFAULT_BATCH_SIZE, minimum=1, default=DEFAULT_BATCH_SIZE)
TABLE = _prop("string", "Target table name (not quoted, case kept as written).", "customers", minLength=1)
SCHEMA = _prop("string", "Database schema of the table (PostgreSQL schema, SQLite attached database); the connection's default when left out.", "staging", minLength=1)

QUERY_ARGS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "query"],
    "properties": {
        "url": URL,
        "query": _prop("string", "The SELECT to run; :name placeholders take their values from parameters.", "SELECT * FROM customers WHERE country = :country", minLength=1),
        "parameters": _prop("object", "Values for the query's :name placeholders.", {"country": "GB"}),
        "batch_size": BATCH_SIZE,
    },
}

WRITE_ARGS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "table"],
    "properties": {
        "url": URL,
        "table": TABLE,
        "schema": SCHEMA,
        "mode": {
            "description": (
                "create: the table must not exist; append: add rows, creating the table when missing; "
                "replace: fill a new table and swap it in when every row was written; "
                "upsert: insert, or update the row with the same key (INSERT .. ON CONFLICT)."
            ),
            "enum": ["create", "append", "replace", "upsert"],
            "default": "append",
            "examples": ["upsert"],
        },
        "key": _prop(
            "array",
            "Columns that identify a row; required for mode upsert (the table needs a unique index on them; "
            "a table this step creates gets that primary key).",
            ["customer_id"],
            items={"type": "string", "minLength": 1},
            minItems=1,
            uniqueItems=True,
        ),
        "batch_size": _prop(
            "integer",
            "Rows per transaction: incoming batches are split into chunks of at most this many rows, each committed on its own.",
            DEFAULT_BATCH_SIZE,
            minimum=1,
            default=DEFAULT_BATCH_SIZE,
        ),
    },
    "if": {"properties": {"mode": {"const": "upsert"}}, "required": ["mode"]},
    "then": {"required": ["key"]},
}

EXECUTE_ARGS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "sql"],
    "properties": {
        "url": URL,
        "sql": _prop(
            "string",
            "One or more SQL statements separated by ';', run in one transaction: all of them or none.",
            "CREATE TABLE daily AS SELECT day, sum(amount) AS total FROM orders GROUP BY day",
            minLength=1,
        ),
    },
}


@hookimpl
def register_extractors(register: Register) -> None:
    """``sql.query``: stream a query's rows."""
    register("sql.query", f"{_HERE}.query:query", schema=QUERY_ARGS, description="Run a SELECT on any SQLAlchemy database; stream its rows in batches.")


@hookimpl
def register_loaders(register: Register) -> None:
    """``sql.write``: write rows into a table."""
    register("sql.write", f"{_HERE}.write:write", schema=WRITE_ARGS, description="Write rows into a database table (create, append, replace or upsert), one transaction per batch.")


@hookimpl
def register_load_transformers(register: Register) -> None:
    """``sql.execute``: SQL inside the target, after the loads (the T of ELT)."""
    register("sql.execute", f"{_HERE}.execute:execute", schema=EXECUTE_ARGS, description="Run SQL statements inside a database, in one transaction.")
