"""``sqlite.read``, ``sqlite.write`` and ``sqlite.execute``: the embedded default target.

Writes commit batches together, up to 20,000 rows or a quarter of a second a transaction (a
commit per small batch cost a third of a large load), and commit what arrived when the stream
fails or the step is interrupted, so a failure keeps every batch already received; ``replace`` fills a new table and
swaps it in at the end, so a failed replace leaves the old table untouched.

Appends are idempotent within a run: each batch is committed together with a row in the target's
``_orchestrator_loads`` table naming the load (``ctx.load_id``) and the batch number, and a batch
found there already is skipped. A retried or resumed load therefore neither doubles nor loses rows.

With ``on_error: skip`` or ``dead_letter``, a batch that SQLite refuses because of some of its rows
(a NOT NULL, UNIQUE or CHECK constraint, a value of the wrong type) is written again row by row in
the same transaction, and the refused rows are rejected through ``ctx.reject``.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from operator import itemgetter
from typing import Any

from orchestrator.builtin.batching import DEFAULT_BATCH_SIZE, rows_of
from orchestrator.config.policies import FAIL
from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator.sqlite_sandbox import SqliteSandbox

#: batches are committed together up to this many rows ...
GROUP_ROWS = 20_000
#: ... or once the first of them has waited this long (seconds)
GROUP_SECONDS = 0.25

_TYPES = {bool: "INTEGER", int: "INTEGER", float: "REAL", bytes: "BLOB", str: "TEXT"}

#: the batches each load committed, written in the same transaction as their rows
LEDGER = "_orchestrator_loads"
_LEDGER_TABLE = f"CREATE TABLE IF NOT EXISTS {LEDGER} (load_id TEXT NOT NULL, batch INTEGER NOT NULL, rows INTEGER NOT NULL, committed REAL NOT NULL, PRIMARY KEY (load_id, batch))"
_LEDGER_INSERT = f"INSERT INTO {LEDGER} VALUES (?, ?, ?, ?)"

#: what SQLite raises for a row it refuses (a constraint, a value of the wrong type, a value
#: that cannot be bound), rather than for the table or the database
_ROW_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)


@contextmanager
def connect(
    ctx: StepContext, database: str, *, create: bool, sandbox: SqliteSandbox | None = None
) -> Iterator[sqlite3.Connection]:
    """Open the database file (relative to the pipeline file); ``:memory:`` is accepted as is.
    ``create`` is for writers: the file (and its directory) may be created. Steps that run the
    user's SQL pass a ``sandbox``, which keeps the files that SQL opens inside the pipeline's
    directories."""
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
        if sandbox is not None:
            sandbox.guard(connection)
        yield connection


def read(
    ctx: StepContext,
    database: str,
    query: str,
    parameters: list[Any] | dict[str, Any] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the query's rows as dicts, ``batch_size`` at a time. The query may only read, and
    only files inside the pipeline's directories (see :mod:`orchestrator.sqlite_sandbox`)."""
    sandbox = SqliteSandbox(ctx, "sqlite.read", read_only=True)
    with connect(ctx, database, create=False, sandbox=sandbox) as connection:
        try:
            cursor = connection.execute(query, parameters or ())
        except sqlite3.Error as exc:
            raise StepError(sandbox.refused or f"query failed: {exc}") from None
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
        used = _used_bytes(connection)
        try:
            columns, written = _insert_all(ctx, connection, batches, target, table, mode)
            ctx.add_bytes(written=max(_used_bytes(connection) - used, 0))
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


def _used_bytes(connection: sqlite3.Connection) -> int:
    """The bytes of the database's pages in use: their growth over a load is what it wrote (a
    replace's new table, before the old one is dropped)."""
    pages, free, size = (connection.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "freelist_count", "page_size"))
    return int((pages - free) * size)


def _insert_all(
    ctx: StepContext, connection: sqlite3.Connection, batches: Iterable[Any], target: str, table: str, mode: str
) -> tuple[list[str] | None, int]:
    """Insert batch after batch, one transaction each. The table gets its columns from the first
    batch, and a column first seen in a later row is added to it (ALTER TABLE ... ADD COLUMN),
    never dropped. Except for ``replace`` (whose swap is all or nothing anyway), every batch is
    recorded in the ledger with its rows, and batches this load committed before are skipped."""
    load_id = ctx.load_id
    ledger = mode != "replace"
    committed = _committed(connection, load_id) if ledger else {}
    rejecting = ctx.on_error != FAIL
    offset = 0  # rows before this batch, which locate a rejected row in the load's input
    if committed and mode == "create":  # the table is this load's own, from an earlier attempt
        mode = "append"
    columns: list[str] | None = None
    known: set[str] = set()
    insert = ""
    getter: Any = None
    written = 0
    group = _Group(connection, table, load_id if ledger else None)
    try:
        for number, batch in enumerate(batches):
            if number in committed:
                written += committed[number]
                offset += len(rows_of(batch, "sqlite.write")) if rejecting else 0
                continue
            rows = rows_of(batch, "sqlite.write")
            if not rows:
                continue
            keys = set().union(*rows)  # every key of the batch, counted in C: new columns are rare
            if columns is None or not keys <= known:
                added = _sample(rows, keys - known)
                group.commit()  # what was gathered goes in with the columns it was gathered for
                if columns is None:
                    _prepare(connection, target, table, mode, added)
                _add_columns(connection, target, table, added)
                columns = [*(columns or ()), *added]
                known = set(columns)
                insert = (
                    f"INSERT INTO {_quote(target)} ({', '.join(map(_quote, columns))}) "
                    f"VALUES ({', '.join('?' * len(columns))})"
                )
                getter = _tuple_getter(columns)
                group.insert = insert
            values = _values(rows, columns, getter)
            if rejecting:
                written += _insert_rejecting(ctx, connection, insert, rows, values, (load_id, number) if ledger else None, table, offset)
                offset += len(rows)
                continue
            group.add(number, values)
            written += len(rows)
    except BaseException:
        # what arrived before the failure (upstream, or an interruption) is kept, as promised;
        # a failed commit of the group itself left nothing pending
        with suppress(StepError):
            group.commit()
        raise
    group.commit()
    return columns, written


def _sample(rows: list[dict[str, Any]], names: set[str]) -> dict[str, Any]:
    """The given columns in the order the rows first show them, each with its first value that
    is not None (which types the column)."""
    sample: dict[str, Any] = {}
    for row in rows:
        for name, value in row.items():
            if name in names and sample.get(name) is None:
                if not isinstance(name, str):
                    raise StepError(f"sqlite.write needs string column names, got {name!r} ({type(name).__name__})")
                sample[name] = value
        if len(sample) == len(names) and None not in sample.values():
            break
    return sample


class _Group:
    """Batches waiting to be committed together. A transaction costs a commit (a journal written
    and synced): at one per 5,000-row batch, commits were a third of loading a million rows. So
    batches are gathered up to :data:`GROUP_ROWS` rows, and for at most :data:`GROUP_SECONDS`
    after the first of them arrived (checked as each batch arrives), then committed in one
    transaction with a ledger row each; the ledger still names every batch, so a retried or
    resumed load skips exactly the batches that were committed."""

    def __init__(self, connection: sqlite3.Connection, table: str, load_id: str | None) -> None:
        self.connection, self.table, self.load_id = connection, table, load_id
        self.insert = ""
        self.pending: list[tuple[int, list[tuple[Any, ...]]]] = []
        self.rows = 0
        self.since = 0.0

    def add(self, number: int, values: list[tuple[Any, ...]]) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((number, values))
        self.rows += len(values)
        if self.rows >= GROUP_ROWS or time.monotonic() - self.since >= GROUP_SECONDS:
            self.commit()

    def commit(self) -> None:
        """One transaction for every pending batch (none pending: nothing)."""
        pending, self.pending, self.rows = self.pending, [], 0
        if not pending:
            return
        work: list[str | tuple[str, list[Any]]] = [(self.insert, values) for _, values in pending]
        if self.load_id is not None:
            now = time.time()
            work.append((_LEDGER_INSERT, [(self.load_id, number, len(values), now) for number, values in pending]))
        _in_transaction(self.connection, work, self.table)


def _tuple_getter(columns: list[str]) -> Any:
    """A C-level function from a row dict to its values in ``columns`` order, as a tuple."""
    getter = itemgetter(*columns)
    return getter if len(columns) > 1 else lambda row: (getter(row),)


def _values(rows: list[dict[str, Any]], columns: list[str], getter: Any) -> list[tuple[Any, ...]]:
    """The rows as parameter tuples, a missing column being NULL. Plain dicts go through
    ``itemgetter`` (no Python-level loop per row: at a million rows the generator of ``row.get``
    calls cost a tenth of the whole load); a dict subclass such as a ``defaultdict`` would answer a
    missing key with its default, so such rows, and rows missing a column, take ``row.get``."""
    if set(map(type, rows)) == {dict}:
        try:
            return list(map(getter, rows))
        except KeyError:
            pass
    return [tuple(row.get(c) for c in columns) for row in rows]


def _insert_rejecting(
    ctx: StepContext,
    connection: sqlite3.Connection,
    insert: str,
    rows: list[dict[str, Any]],
    values: list[tuple[Any, ...]],
    ledger: tuple[str, int] | None,
    table: str,
    offset: int,
) -> int:
    """Write one batch of a load whose ``on_error`` is skip or dead_letter, in one transaction
    with its ledger row (``(load_id, batch number)``): all rows at once when SQLite takes them,
    else row by row, each under a savepoint, rejecting the rows it refuses. The rejections are
    made once the batch committed, so a batch written again (a retry, a resume) is not rejected
    twice. Returns the rows written."""
    refused: list[tuple[int, sqlite3.Error]] = []
    with _transaction(connection, table):
        connection.execute("SAVEPOINT batch")
        try:
            connection.executemany(insert, values)
        except _ROW_ERRORS:
            connection.execute("ROLLBACK TO batch")
            for index, row in enumerate(values):
                connection.execute("SAVEPOINT row")
                try:
                    connection.execute(insert, row)
                except _ROW_ERRORS as exc:
                    connection.execute("ROLLBACK TO row")
                    refused.append((index, exc))
                connection.execute("RELEASE row")
        connection.execute("RELEASE batch")
        if ledger is not None:
            connection.execute(_LEDGER_INSERT, (*ledger, len(rows) - len(refused), time.time()))
    for index, error in refused:
        ctx.reject(rows[index], error, position=offset + index)
    return len(rows) - len(refused)


def _committed(connection: sqlite3.Connection, load_id: str) -> dict[int, int]:
    """The batches (number: rows) this load committed in earlier attempts."""
    connection.execute(_LEDGER_TABLE)
    query = f"SELECT batch, rows FROM {LEDGER} WHERE load_id = ?"
    return dict(connection.execute(query, (load_id,)).fetchall())


def execute(ctx: StepContext, database: str, sql: str) -> int:
    """Run SQL (one or more statements) inside the database, in one transaction; returns the
    number of rows the statements changed. The files the SQL opens (``ATTACH``, ``VACUUM INTO``)
    must be inside the pipeline's directories (see :mod:`orchestrator.sqlite_sandbox`).

    Once per ``ctx.load_id``: the transaction also writes a row of the database's ledger, so the
    SQL of a run that a resume continues is not run again, even when the run was killed between
    its commit and the history's record of it (``INSERT ... SELECT`` twice would double rows)."""
    sandbox = SqliteSandbox(ctx, "sqlite.execute", read_only=False)
    with connect(ctx, database, create=False, sandbox=sandbox) as connection:
        done = _committed(connection, ctx.load_id)
        if done:
            return done.get(0, 0)
        before = connection.total_changes
        try:
            connection.executescript(f"BEGIN IMMEDIATE;\n{sql}\n;")
            changed = connection.total_changes - before
            connection.execute(_LEDGER_INSERT, (ctx.load_id, 0, changed, time.time()))
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StepError(sandbox.refused or f"SQL failed: {exc}") from None
        return changed


def _prepare(connection: sqlite3.Connection, target: str, table: str, mode: str, sample: dict[str, Any]) -> None:
    """Create the table the rows go into (``append``: when missing; ``replace``: the new table)."""
    definition = _definition(sample)
    if mode == "create":
        if _exists(connection, table):
            raise StepError(f"table {table!r} already exists (mode: create); use mode append or replace")
        statements = [f"CREATE TABLE {_quote(table)} ({definition})"]
    elif mode == "append":
        statements = [f"CREATE TABLE IF NOT EXISTS {_quote(table)} ({definition})"]
    else:
        statements = [f"DROP TABLE IF EXISTS {_quote(target)}", f"CREATE TABLE {_quote(target)} ({definition})"]
    _in_transaction(connection, statements, table)


def _add_columns(connection: sqlite3.Connection, target: str, table: str, sample: dict[str, Any]) -> None:
    """Add the sample's columns that ``target`` lacks, typed from their values. The table is read
    inside the write transaction, so two loads adding the same column at once add it once."""
    with _transaction(connection, table):
        present = {row[1].casefold() for row in connection.execute(f"PRAGMA table_info({_quote(target)})")}
        for name, value in sample.items():
            if name.casefold() not in present:  # SQLite's column names ignore case
                connection.execute(f"ALTER TABLE {_quote(target)} ADD COLUMN {_definition({name: value})}")


def _definition(sample: dict[str, Any]) -> str:
    return ", ".join(f"{_quote(c)} {_TYPES.get(type(v), '')}".rstrip() for c, v in sample.items())


def _in_transaction(connection: sqlite3.Connection, work: Sequence[str | tuple[str, list[Any]]], table: str) -> None:
    """Run statements (or ``(statement, rows)`` for executemany) in one transaction."""
    with _transaction(connection, table):
        for item in work:
            if isinstance(item, tuple):
                connection.executemany(*item)
            else:
                connection.execute(item)


@contextmanager
def _transaction(connection: sqlite3.Connection, table: str) -> Iterator[None]:
    """One write transaction: committed at the end, rolled back on an SQLite error, which is
    raised as a StepError naming the table."""
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
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
