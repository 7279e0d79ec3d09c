"""``sql.write``: rows into a table, one transaction per batch.

- ``create`` / ``append`` / ``upsert`` commit each batch (of at most ``batch_size`` rows) on its
  own: when the pipeline fails halfway, every batch committed before stays.
- ``replace`` fills a new table and swaps it for the old one in one transaction at the end, so a
  failed replace leaves the old table exactly as it was (and readers see the old table until then).
- ``upsert`` is ``INSERT .. ON CONFLICT (key) DO UPDATE`` (PostgreSQL and SQLite).
- ``create`` / ``append`` / ``upsert`` record each committed chunk in the target's load ledger (see
  :mod:`orchestrator_plugin_sql.ledger`), so a retried or resumed load skips what it committed.
- With ``on_error: skip`` or ``dead_letter`` on the step, a chunk the database refuses because of
  some of its rows (a constraint, a value of the wrong type) is written again row by row in the
  same transaction, each row under a savepoint, and the refused rows go to ``ctx.reject``.

A table that does not exist is created from the first batch: its columns, typed from their values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator_plugin_sql import ledger, tables
from orchestrator_plugin_sql.database import Database, open_database
from orchestrator_plugin_sql.plugin import DEFAULT_BATCH_SIZE

UPSERT_DIALECTS = ("postgresql", "sqlite")
#: errors that a row's values cause (a constraint, a value of the wrong type), not the table
ROW_ERRORS = (sa.exc.IntegrityError, sa.exc.DataError)


def write(
    ctx: StepContext,
    batches: Iterable[Any],
    url: str,
    table: str,
    schema: str | None = None,
    mode: str = "append",
    key: list[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Write every batch into ``table``; returns the number of rows written."""
    if mode == "upsert" and not key:
        raise StepError("mode upsert needs args.key: the columns that identify a row")
    with open_database(ctx, url, write=True) as (database, connection):
        if mode == "upsert" and database.dialect not in UPSERT_DIALECTS:
            raise StepError(f"mode upsert supports {' and '.join(UPSERT_DIALECTS)}, not {database.dialect}; use mode append or replace")
        writer = _Writer(database, connection, table, schema, mode, key, ctx)
        try:
            chunks = (chunk for batch in batches for chunk in _chunks(_rows(batch), batch_size))
            for number, chunk in enumerate(chunks):
                writer.write(chunk, number)
        except BaseException:
            writer.abandon()
            raise
        writer.finish()
        return writer.written


class _Writer:
    """The state of one ``sql.write``: the table (known after the first rows) and the count."""

    def __init__(
        self, database: Database, connection: Connection, table: str, schema: str | None, mode: str,
        key: list[str] | None, ctx: StepContext,
    ) -> None:
        self.database = database
        self.connection = connection
        self.name = table
        self.schema = schema
        self.mode = mode
        self.key = key
        self.target: sa.Table | None = None
        self.written = 0
        self.where = f"table {table!r}" if schema is None else f"table {schema}.{table}"
        self.ctx = ctx
        self.load_id = load_id = ctx.load_id
        self.rejecting = getattr(ctx, "on_error", "fail") != "fail"
        self.offset = 0  # rows before this chunk, which locate a rejected row in the load's input
        # a replace is all or nothing at its swap: it needs no ledger
        self.ledger = None if mode == "replace" else ledger.ledger_table(schema)
        self.committed: dict[int, int] = {}
        if self.ledger is not None:
            with database.guard(f"writing {self.where}"):
                self.committed = ledger.committed(connection, self.ledger, load_id)
        if self.committed and mode == "create":  # the table is this load's own, from an earlier attempt
            self.mode = "append"

    def write(self, rows: list[Mapping[str, Any]], number: int) -> None:
        """Insert (or upsert) chunk ``number`` in a transaction of its own, with its ledger row;
        a chunk the ledger names was committed by an earlier attempt and is skipped."""
        offset, self.offset = self.offset, self.offset + len(rows)
        if number in self.committed:
            self.written += self.committed[number]
            return
        refused: list[tuple[int, Exception]] = []
        with self.database.guard(f"writing {self.where}"):
            if self.target is None:
                self.target = self._prepare(rows)
            columns = self._columns(rows)
            values = [{c: row.get(c) for c in columns} for row in rows]
            if self.mode == "upsert":
                values = _last_per_key(values, self.key or [])
            insert = self._insert(columns)
            with self.connection.begin():
                if self.rejecting:
                    refused = self._insert_each_if_refused(insert, values)
                else:
                    self.connection.execute(insert, values)
                if self.ledger is not None:
                    ledger.record(self.connection, self.ledger, self.load_id, number, len(values) - len(refused))
        # rejected once the chunk committed: a chunk written again (a retry, a resume) is skipped whole
        for index, error in refused:  # the driver's own error: SQLAlchemy's adds the statement and values
            self.ctx.reject(values[index], getattr(error, "orig", None) or error, position=offset + index)
        self.written += len(values) - len(refused)

    def _insert_each_if_refused(self, insert: sa.Insert, values: list[dict[str, Any]]) -> list[tuple[int, Exception]]:
        """Inside the chunk's transaction: all rows at once, else (the database refused some)
        each row under a savepoint of its own; returns the refused rows' indexes and errors."""
        try:
            with self.connection.begin_nested():
                self.connection.execute(insert, values)
            return []
        except ROW_ERRORS:
            pass
        refused = []
        for index, value in enumerate(values):
            try:
                with self.connection.begin_nested():
                    self.connection.execute(insert, [value])
            except ROW_ERRORS as exc:
                refused.append((index, exc))
        return refused

    def finish(self) -> None:
        """``replace``: swap the filled table in; with no rows at all, empty the old table."""
        if self.mode != "replace":
            return
        with self.database.guard(f"replacing {self.where}"), self.connection.begin():
            if self.target is not None:
                tables.swap(self.connection, self.target, self.name, self.key)
            elif tables.exists(self.connection, self.name, self.schema):
                old = sa.Table(self.name, sa.MetaData(), schema=self.schema)
                self.connection.execute(old.delete())

    def abandon(self) -> None:
        """The load failed: a ``replace`` drops its half-filled table; the old one was never touched."""
        if self.mode != "replace" or self.target is None:
            return
        with suppress(Exception):  # the original failure is what the user needs to see
            if self.connection.in_transaction():
                self.connection.rollback()
            with self.connection.begin():
                tables.drop(self.connection, self.target.name, self.schema)

    def _prepare(self, rows: list[Mapping[str, Any]]) -> sa.Table:
        """The table the rows go into, created from them when needed (in its own transaction)."""
        dialect = self.database.dialect
        with self.connection.begin():
            present = tables.exists(self.connection, self.name, self.schema)
            if self.mode == "create" and present:
                raise StepError(f"{self.where} already exists (mode: create); use mode append, replace or upsert")
            if self.mode == "replace":
                name = tables.new_table_name(self.name, self.connection.dialect)
                tables.drop(self.connection, name, self.schema)  # left by a run that died
                table = tables.define(name, self.schema, rows, self.key, dialect)
                table.create(self.connection)
            elif present:
                table = tables.reflect(self.connection, self.name, self.schema)
            else:
                table = tables.define(self.name, self.schema, rows, self.key, dialect)
                table.create(self.connection)
        missing = [k for k in self.key or () if k not in table.c]
        if missing:
            raise StepError(f"{self.where} has no key column {', '.join(missing)}; check args.key")
        return table

    def _columns(self, rows: list[Mapping[str, Any]]) -> list[str]:
        assert self.target is not None
        names = tables.column_names(rows)
        unknown = [c for c in names if c not in self.target.c]
        if unknown:
            fix = (
                "the new table took its columns from the first batch: give every row the same columns"
                if self.mode == "replace"
                else "add them to the table, drop them in a transform, or use mode replace"
            )
            raise StepError(f"the rows have columns that {self.where} lacks: {', '.join(unknown)}; {fix}")
        missing_key = [k for k in self.key or () if k not in names] if self.mode == "upsert" else []
        if missing_key:
            raise StepError(f"rows without the key column {', '.join(missing_key)} cannot be upserted")
        return names

    def _insert(self, columns: list[str]) -> sa.Insert:
        assert self.target is not None
        if self.mode != "upsert":
            return sa.insert(self.target)
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert = postgresql.insert if self.database.dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(self.target)
        update = {c: statement.excluded[c] for c in columns if c not in (self.key or ())}
        if not update:
            return statement.on_conflict_do_nothing(index_elements=self.key)
        return statement.on_conflict_do_update(index_elements=self.key, set_=update)


def _rows(batch: Any) -> list[Mapping[str, Any]]:
    """A batch as a list of row mappings, or a StepError naming what arrived instead. A mapping
    whose values are all lists of rows is not a row but the ``{step_id: rows}`` of several extract
    steps with no transform: written as one row, it would make a table of JSON columns."""
    if isinstance(batch, Mapping):
        values = batch.values()
        if any(values) and all(isinstance(v, list) and all(isinstance(r, Mapping) for r in v[:1]) for v in values):
            raise StepError(
                f"sql.write received one mapping of row lists ({', '.join(map(str, batch))}), which is what several "
                "extract steps hand on when the pipeline has no transform; add a transform that combines them "
                "into rows (python.call), or give each source a pipeline of its own"
            )
        return [batch]
    if isinstance(batch, list) and all(isinstance(row, Mapping) for row in batch):
        return batch
    found = type(next((r for r in batch if not isinstance(r, Mapping)), batch)).__name__ if isinstance(batch, list) else type(batch).__name__
    raise StepError(f"sql.write expects rows as mappings (dicts), got {found}; turn them into dicts in a transform")


def _chunks(rows: list[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    if len(rows) <= size:
        if rows:
            yield rows
        return
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _last_per_key(values: list[dict[str, Any]], key: list[str]) -> list[dict[str, Any]]:
    """One row per key, the last one winning, as if the rows had been upserted one by one
    (PostgreSQL refuses to update one row twice in a statement)."""
    latest = {tuple(row[k] for k in key): row for row in values}
    return list(latest.values()) if len(latest) < len(values) else values
