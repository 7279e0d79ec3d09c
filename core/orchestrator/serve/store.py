"""The SQL the serve tables share: one DB-API connection (``sqlite3`` or psycopg 3), its dialect,
and transactions that serialise writers the way each database can.

SQLite has one writer at a time per file; ``BEGIN IMMEDIATE`` takes the write lock when the
transaction starts, so a read-then-write (is this lease expired? then take it) is atomic across
processes. PostgreSQL serialises on rows instead: the callers read the rows they will change with
``SELECT … FOR UPDATE`` (:attr:`Store.for_update`), and creating the tables takes a transaction-level
advisory lock, because two servers running ``CREATE TABLE IF NOT EXISTS`` at once can still collide.

Times are stored as fixed-width ISO 8601 text in UTC (``2026-03-29T01:00:00.000000Z``): the same
column type on both databases, and text order is time order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Clock", "Store", "connect", "from_stamp", "stamp", "store_key", "utc_now"]

Clock = Callable[[], datetime]
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
#: the advisory lock key serialising DDL of the serve tables on PostgreSQL ("schedule" in ASCII)
_DDL_LOCK = 0x7363686564756C65


def connect(state: str, base_dir: Path) -> Any:
    """A connection to the database a ``state:`` URL names (relative SQLite paths start from
    ``base_dir``): the serve tables live beside the run history they refer to. Raises ValueError
    for ``state: off``, which leaves nowhere to record a tick."""
    from orchestrator.runstate.layout import OFF, POSTGRES, sqlite_file

    if state == OFF:
        raise ValueError("'state: off' records nothing, and a schedule's ticks must be recorded before they run; set a state: store")
    if state.startswith(POSTGRES):
        import psycopg

        return psycopg.connect(state)
    database = sqlite_file(state, base_dir)
    if database is None:
        raise ValueError(f"unknown state store {state!r}")
    database.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(database, timeout=30, check_same_thread=False)
    # the run history's journal mode (runstate.history.sqlite), whichever side creates the file:
    # a run opening the history must not have to switch a file the server holds open
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def store_key(state: str, base_dir: Path) -> str:
    """Which database a ``state:`` URL names, the same text for every file that shares one."""
    from orchestrator.runstate.layout import sqlite_file

    database = sqlite_file(state, base_dir)
    return str(database.resolve()) if database is not None else state


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """An aware datetime as the stored text; a naive one is refused, not guessed at."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC).strftime(_STAMP)


def from_stamp(text: str) -> datetime:
    return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)


class Store:
    """One connection and its dialect. The store owns the connection's transactions: a sqlite3
    connection is switched to autocommit (every transaction here is an explicit ``BEGIN
    IMMEDIATE``) with a generous busy timeout; a psycopg connection is switched out of autocommit
    (its first statement begins the transaction). Every method commits or rolls back before it
    returns, so a connection is never left idle in a transaction."""

    def __init__(self, connection: Any, *, busy_timeout_ms: int = 30_000) -> None:
        self.connection = connection
        self.sqlite = isinstance(connection, sqlite3.Connection)
        if self.sqlite:
            connection.isolation_level = None
            connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        elif type(connection).__module__.startswith("psycopg"):
            if connection.autocommit:
                connection.autocommit = False
        else:
            raise TypeError(f"a sqlite3 or psycopg connection is needed, not {type(connection).__name__}")

    @property
    def for_update(self) -> str:
        """The row-lock clause for a read that precedes a write (SQLite's write lock is whole-file)."""
        return "" if self.sqlite else " FOR UPDATE"

    @property
    def for_share(self) -> str:
        """The row-lock clause for a read the rest of the transaction relies on staying true."""
        return "" if self.sqlite else " FOR SHARE"

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction: committed when the block ends, rolled back when it raises."""
        if self.sqlite:
            self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.connection.rollback()
            raise
        self.connection.commit()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run ``sql`` written with ``?`` placeholders; returns the cursor."""
        cursor = self.connection.cursor()
        cursor.execute(sql if self.sqlite else sql.replace("?", "%s"), tuple(params))
        return cursor

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read outside any write transaction (committed at once, so no transaction lingers)."""
        try:
            found = [tuple(row) for row in self.execute(sql, params).fetchall()]
        finally:
            if not self.sqlite:
                self.connection.commit()
        return found

    def create(self, statements: Sequence[str]) -> None:
        """Create tables and indexes (``IF NOT EXISTS``), safe when several servers start at once."""
        with self.transaction():
            if not self.sqlite:
                self.execute("SELECT pg_advisory_xact_lock(?)", (_DDL_LOCK,))
            for statement in statements:
                self.execute(statement)
