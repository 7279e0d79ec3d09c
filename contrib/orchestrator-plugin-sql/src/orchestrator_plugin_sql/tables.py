"""Tables for ``sql.write``: column types read off the rows, creation, reflection, the replace swap."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from orchestrator.errors import StepError

#: Prefix of the table a ``replace`` fills before it is swapped in.
NEW_TABLE_PREFIX = "_orchestrator_new_"


def column_names(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of the rows, in the order first seen (a later row may add a column)."""
    names: dict[str, None] = {}
    for row in rows:
        for name in row:
            if not isinstance(name, str):
                raise StepError(f"sql.write needs string column names, got {name!r} ({type(name).__name__})")
            names.setdefault(name)
    return list(names)


def column_type(values: Sequence[Any], dialect: str) -> sa.types.TypeEngine[Any]:
    """The SQL type for a column holding these Python values (``None`` ignored). Mixed ints and
    floats make a float column; a column of only ``None``, or of mixed kinds, is text."""
    kinds = {_kind(value) for value in values if value is not None}
    if kinds == {"int", "float"}:
        kinds = {"float"}
    if len(kinds) != 1:
        return sa.Text()
    kind = kinds.pop()
    if kind == "datetime":
        aware = any(isinstance(v, datetime) and v.tzinfo is not None for v in values)
        return sa.DateTime(timezone=aware)
    if kind == "json":
        return postgresql.JSONB() if dialect == "postgresql" else sa.JSON()
    return _TYPES.get(kind, sa.Text)()


_TYPES: dict[str, type[sa.types.TypeEngine[Any]]] = {
    "bool": sa.Boolean,
    "int": sa.BigInteger,
    "float": sa.Double,
    "decimal": sa.Numeric,
    "str": sa.Text,
    "bytes": sa.LargeBinary,
    "date": sa.Date,
    "time": sa.Time,
    "timedelta": sa.Interval,
    "uuid": sa.Uuid,
}


def _kind(value: Any) -> str:
    # order matters: bool is an int, datetime is a date
    for kind, types in (
        ("bool", bool), ("int", int), ("float", float), ("decimal", Decimal), ("str", str),
        ("bytes", (bytes, bytearray, memoryview)), ("datetime", datetime), ("date", date), ("time", time),
        ("timedelta", timedelta), ("uuid", uuid.UUID), ("json", (dict, list)),
    ):
        if isinstance(value, types):
            return kind
    return "other"


def define(
    name: str, schema: str | None, rows: Sequence[Mapping[str, Any]], key: list[str] | None, dialect: str
) -> sa.Table:
    """A new table with the rows' columns (typed from their values), ``key`` as primary key."""
    names = column_names(rows)
    missing = [k for k in key or () if k not in names]
    if missing:
        raise StepError(f"the key columns {', '.join(missing)} are not in the rows (their columns: {', '.join(names)})")
    columns = [sa.Column(c, column_type([row.get(c) for row in rows], dialect), nullable=c not in (key or ())) for c in names]
    constraints = [sa.PrimaryKeyConstraint(*key, name=truncate(f"{name}_pkey"))] if key else []
    return sa.Table(name, sa.MetaData(), *columns, *constraints, schema=schema)


def exists(connection: Connection, name: str, schema: str | None) -> bool:
    """Whether the table is there (asked each run: another process may have created it)."""
    return sa.inspect(connection).has_table(name, schema=schema)


def reflect(connection: Connection, name: str, schema: str | None) -> sa.Table:
    """An existing table as the database defines it: its own column types decide conversions."""
    return sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)


def new_table_name(table: str, dialect: sa.engine.Dialect) -> str:
    """The name ``replace`` fills before the swap: fixed per table, so a run that died leaves at
    most one, which the next run drops; hashed when the name would pass the dialect's limit."""
    name = NEW_TABLE_PREFIX + table
    limit = dialect.max_identifier_length or 63
    if len(name) > limit:
        name = NEW_TABLE_PREFIX + hashlib.sha1(table.encode()).hexdigest()[:16]
    return name


def truncate(name: str) -> str:
    """A constraint name within PostgreSQL's 63-character limit (others allow more)."""
    return name if len(name) <= 63 else name[:46] + "_" + hashlib.sha1(name.encode()).hexdigest()[:16]


def swap(connection: Connection, new: sa.Table, table: str, key: list[str] | None) -> None:
    """Replace ``table`` by ``new`` (inside the caller's transaction): drop, rename, and rename
    the primary key so the next replace can create its own under the fill name."""
    preparer = connection.dialect.identifier_preparer
    old = sa.Table(table, sa.MetaData(), schema=new.schema)
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {preparer.format_table(old)}")
    connection.exec_driver_sql(f"ALTER TABLE {preparer.format_table(new)} RENAME TO {preparer.quote(table)}")
    if key and connection.dialect.name == "postgresql":  # constraint names are unique per schema there
        connection.exec_driver_sql(
            f"ALTER TABLE {preparer.format_table(old)} RENAME CONSTRAINT "
            f"{preparer.quote(truncate(f'{new.name}_pkey'))} TO {preparer.quote(truncate(f'{table}_pkey'))}"
        )


def drop(connection: Connection, name: str, schema: str | None) -> None:
    """Drop the table if it exists (the half-filled table of a failed replace)."""
    table = sa.Table(name, sa.MetaData(), schema=schema)
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {connection.dialect.identifier_preparer.format_table(table)}")
