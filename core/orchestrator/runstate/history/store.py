"""What every SQL history store shares under its recording and reading: the connection, its
transactions, and the batching of writes.

Writes are batched: one transaction every ``flush_every`` statements or ``flush_seconds`` (a
background thread flushes while a long step is quiet), at the end of a run, and within
``urgent_seconds`` of what a resume must not repeat (see :mod:`.recording`). That keeps the cost
per step small, and most commits off the event loop; a killed process loses at most
``flush_seconds`` of history. Within a batch, the statement that ends a row (a step attempt, a
phase, a pipeline) is folded into the one that started it, when that one still waits: SQLite's
cost is per statement, and most rows start and end within one batch. A backend only says how to
connect and how its driver spells a placeholder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from itertools import groupby
from operator import itemgetter
from typing import Any

from orchestrator.runstate.history.schema import create_or_migrate


class SQLStore:
    """A connection to a SQL history and the batching of its writes; :class:`~.recording.Recording`
    writes a run's events through it, :class:`~.reading.Reading` reads them back."""

    flush_every = 500
    flush_seconds = 0.5
    #: how soon a finished load, transform_at_load step or pipeline is committed
    urgent_seconds = 0.02
    #: how the driver writes a parameter; statements here are written with ``?``
    placeholder = "?"

    def __init__(self, redact: Callable[[str], str] = lambda text: text) -> None:
        self.redact = redact
        self.pending: list[tuple[str, tuple[Any, ...]]] = []
        self.flushed = time.monotonic()
        self.attempts: dict[tuple[str, str, str], int] = {}
        #: how many phases of each (run, pipeline) started and have not finished: a pipeline that
        #: ends with none open has no phase row left to close
        self.open_phases: dict[tuple[str, str | None], int] = {}
        #: the next ``seq`` of each run's log lines, and how many lines each step attempt logged
        self.log_seq: dict[str, Iterator[int]] = {}
        self.log_lines: dict[tuple[str, str | None, str | None, int | None], int] = {}
        self.lock = threading.Lock()  # one transaction at a time, in the order the events came
        self.queue_lock = threading.Lock()  # held only to add to, or take, the pending statements
        #: where in ``pending`` the statement that started a row is, by the row's key, while it
        #: waits: the statement that ends the row is folded into it (see :meth:`_amend`)
        self.starts: dict[tuple[Any, ...], int] = {}
        self.closed = threading.Event()
        self.urgent = threading.Event()
        self.flusher: threading.Thread | None = None
        #: why recording stopped during the run, if it did
        self.failure: str | None = None
        self.db = self.connect()
        with self._transaction() as cursor:
            self.creating_tables(cursor)
            create_or_migrate(cursor, self.index_names)

    # -- what a backend provides ----------------------------------------------------------------

    def connect(self) -> Any:
        """An open DB-API connection in autocommit mode (transactions are begun explicitly)."""
        raise NotImplementedError

    def begin(self, cursor: Any) -> None:
        cursor.execute("BEGIN")

    def index_names(self, cursor: Any) -> set[str]:
        """The names of the indexes the history's database has (SQLite's catalog)."""
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {row[0] for row in cursor.fetchall()}

    def creating_tables(self, cursor: Any) -> None:
        """Called in the transaction that creates the tables (if they do not exist), before it
        does: a backend whose CREATE TABLE IF NOT EXISTS can race with another process's takes a lock."""

    def flush(self) -> None:
        """Commit what was recorded so far. A store that stops answering in the middle of a run
        (a server gone, a full disk) does not stop the run: recording ends, and ``failure`` says
        why, for the CLI to warn."""
        with self.lock:
            self.flushed = time.monotonic()
            with self.queue_lock:
                pending, self.pending, self.starts = self.pending, [], {}
            if not pending or self.failure is not None:
                return
            try:
                with self._transaction() as cursor:
                    # runs of one statement (1,000 pipelines starting at once) go in one executemany
                    for statement, group in groupby(pending, key=itemgetter(0)):
                        cursor.executemany(self._sql(statement), [values for _, values in group])
            except Exception as exc:
                reason = " ".join(str(exc).split()) or type(exc).__name__
                from orchestrator.config.interpolate import hide_passwords

                self.failure = hide_passwords(self.redact(
                    f"the run history in {self.name()} could not be written ({reason}); "
                    "the rest of this run is not recorded and cannot be resumed"
                ))

    def _flush_while_quiet(self) -> None:
        while not self.closed.is_set():
            if self.urgent.wait(self.flush_seconds):
                # let the events that come with it join the commit; after close() none will come,
                # and the run's end should not wait (an engine's task pays it every call)
                self.closed.wait(self.urgent_seconds)
                self.urgent.clear()
                self.flush()
            elif time.monotonic() - self.flushed >= self.flush_seconds:
                self.flush()

    def close(self) -> None:
        self.closed.set()
        self.urgent.set()
        if self.flusher is not None:
            self.flusher.join()
        self.flush()
        with suppress(Exception):  # a server already gone: failure says so
            self.db.close()

    def name(self) -> str:
        """How messages name this store."""
        return "the state store"

    # -- plumbing -------------------------------------------------------------------------------

    def _query(self, statement: str, *values: Any) -> list[dict[str, Any]]:
        with self.lock:
            cursor = self.db.cursor()
            try:
                cursor.execute(self._sql(statement), values)
                names = [column[0] for column in cursor.description]
                return [dict(zip(names, row)) for row in cursor.fetchall()]
            finally:
                cursor.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self.db.cursor()
        self.begin(cursor)
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def _sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def _write(self, statement: str, values: tuple[Any, ...], row: tuple[Any, ...] | None = None) -> None:
        """Queue a statement; one that starts a ``row`` (its key) may be completed by :meth:`_amend`."""
        with self.queue_lock:
            if row is not None:
                self.starts[row] = len(self.pending)
            self.pending.append((statement, values))

    def _amend(self, row: tuple[Any, ...], amend: Callable[[tuple[Any, ...]], tuple[str, tuple[Any, ...]]]) -> bool:
        """Replace the statement that started ``row``, when it still waits, with ``amend`` of its
        values: one statement that writes the row as both would have (most rows start and end
        within one batch, and each statement costs SQLite as much as the next). False when that
        statement was already committed: the caller then writes its own."""
        with self.queue_lock:
            index = self.starts.pop(row, None)
            if index is None:
                return False
            self.pending[index] = amend(self.pending[index][1])
            return True

    def _text(self, value: str | None) -> str | None:
        return None if value is None else self.redact(value)
