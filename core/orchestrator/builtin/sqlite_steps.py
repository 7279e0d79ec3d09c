"""``sqlite.read``, ``sqlite.write`` and ``sqlite.execute``: the embedded default target.

Writes commit one transaction per batch, so a failure keeps every batch already written; ``replace``
fills a new table and swaps it in at the end, so a failed replace leaves the old table untouched.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from typing import Any

from orchestrator.builtin.batching import DEFAULT_BATCH_SIZE, rows_of
from orchestrator.context import StepContext
from orchestrator.errors import StepError

_TYPES = {bool: "INTEGER", int: "INTEGER", float: "REAL", bytes: "BLOB", str: "TEXT"}


@contextmanager
def connect(ctx: StepContext, database: str, *, create: bool) -> Iterator[sqlite3.Connection]:
    """Open the database file (relative to the pipeline file); ``:memory:`` is accepted as is.
    ``create`` is for writers: the file (and its directory) may be created."""
    if database == ":memory:":
        target = database
    else:
        path = ctx.path(database)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise StepError(f"database not found: {path} (paths are relative to the pipeline file)")
        target = str(path)
    try:
        connection = sqlite3.connect(target, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise StepError(f"cannot open SQLite database {target}: {exc}") from None
    # The file's journal mode is the user's choice and is left alone; concurrent writers (two
    # pipelines loading one database) queue on SQLite's busy timeout, each transaction taking the
    # write lock up front (BEGIN IMMEDIATE) so none can deadlock upgrading a read lock.
    with closing(connection):
        yield connection


def read(
    ctx: StepContext,
    database: str,
    query: str,
    parameters: list[Any] | dict[str, Any] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the query's rows as dicts, ``batch_size`` at a time."""
    with connect(ctx, database, create=False) as connection:
        try:
            cursor = connection.execute(query, parameters or ())
        except sqlite3.Error as exc:
            raise StepError(f"query failed: {exc}") from None
        names = [column[0] for column in cursor.description or ()]
        while rows := cursor.fetchmany(batch_size):
            yield [dict(zip(names, row)) for row in rows]


def write(
    ctx: StepContext,
    batches: Iterable[Any],
    database: str,
    table: str,
    mode: str = "append",
) -> int:
    """Insert every batch into ``table``: ``create`` (the table must not exist), ``append``
    (created when missing) or ``replace`` (swapped in whole at the end)."""
    # a replace fills a table of its own (two runs replacing one table at once must not share it)
    target = f"_orchestrator_new_{table}_{secrets.token_hex(4)}" if mode == "replace" else table
    with connect(ctx, database, create=True) as connection:
        try:
            columns, written = _insert_all(connection, batches, target, table, mode)
        except BaseException:
            if mode == "replace":  # the half-filled new table goes; the old one was never touched
                _in_transaction(connection, [f"DROP TABLE IF EXISTS {_quote(target)}"], table)
            raise
        if mode == "replace" and columns is not None:
            swap = [f"DROP TABLE IF EXISTS {_quote(table)}", f"ALTER TABLE {_quote(target)} RENAME TO {_quote(table)}"]
            _in_transaction(connection, swap, table)
        elif mode == "replace" and _exists(connection, table):  # no rows at all: empty the table
            _in_transaction(connection, [f"DELETE FROM {_quote(table)}"], table)
    return written


def _insert_all(
    connection: sqlite3.Connection, batches: Iterable[Any], target: str, table: str, mode: str
) -> tuple[list[str] | None, int]:
    """Insert batch after batch, one transaction each; the columns come from the first row."""
    columns: list[str] | None = None
    insert = ""
    written = 0
    for batch in batches:
        rows = rows_of(batch, "sqlite.write")
        if not rows:
            continue
        if columns is None:
            columns = list(rows[0])
            _prepare(connection, target, table, mode, columns, rows[0])
            insert = (
                f"INSERT INTO {_quote(target)} ({', '.join(map(_quote, columns))}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
        values = [tuple(row.get(c) for c in columns) for row in rows]
        _in_transaction(connection, [(insert, values)], table)
        written += len(rows)
    return columns, written


def execute(ctx: StepContext, database: str, sql: str) -> int:
    """Run SQL (one or more statements) inside the database, in one transaction; returns the
    number of rows the statements changed."""
    with connect(ctx, database, create=False) as connection:
        before = connection.total_changes
        try:
            connection.executescript(f"BEGIN IMMEDIATE;\n{sql}\n;COMMIT;")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StepError(f"SQL failed: {exc}") from None
        return connection.total_changes - before


def _prepare(
    connection: sqlite3.Connection, target: str, table: str, mode: str, columns: list[str], sample: dict[str, Any]
) -> None:
    definition = ", ".join(f"{_quote(c)} {_TYPES.get(type(sample[c]), '')}".rstrip() for c in columns)
    if mode == "create":
        if _exists(connection, table):
            raise StepError(f"table {table!r} already exists (mode: create); use mode append or replace")
        statements = [f"CREATE TABLE {_quote(table)} ({definition})"]
    elif mode == "append":
        statements = [f"CREATE TABLE IF NOT EXISTS {_quote(table)} ({definition})"]
    else:
        statements = [f"DROP TABLE IF EXISTS {_quote(target)}", f"CREATE TABLE {_quote(target)} ({definition})"]
    _in_transaction(connection, statements, table)


def _in_transaction(connection: sqlite3.Connection, work: list[str | tuple[str, list[Any]]], table: str) -> None:
    """Run statements (or ``(statement, rows)`` for executemany) in one transaction."""
    try:
        connection.execute("BEGIN IMMEDIATE")
        for item in work:
            if isinstance(item, tuple):
                connection.executemany(*item)
            else:
                connection.execute(item)
        connection.execute("COMMIT")
    except sqlite3.Error as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise StepError(f"writing table {table!r} failed: {exc}") from None


def _exists(connection: sqlite3.Connection, table: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return connection.execute(query, (table,)).fetchone() is not None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
