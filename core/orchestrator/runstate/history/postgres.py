"""A server-side store: ``state: postgresql://USER:PASSWORD@HOST:PORT/DATABASE`` (or ``postgres://``),
any libpq connection URL, through psycopg 3 (``pip install 'pipeline-orchestrator[postgres]'``).

Several ``orchestrator run`` processes, on any number of machines, can record into one database.
psycopg is imported when a store is opened, so a CLI that never uses one never pays for it.
Messages name the store by its URL with the password masked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from orchestrator.config.interpolate import hide_passwords
from orchestrator.runstate.history.sql import SQLState, StateError

INSTALL = "pip install 'pipeline-orchestrator[postgres]'"
#: the key of the advisory lock that serialises creating the tables (PostgreSQL's CREATE TABLE IF
#: NOT EXISTS is not safe against another session creating the same table at the same moment)
CREATE_LOCK = 0x6F72_6368_7374_6174  # "orchstat"
#: seconds to wait for the server, unless the URL says (connect_timeout=N)
CONNECT_TIMEOUT = 10


def driver() -> ModuleType:
    """psycopg, or a StateError saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise StateError(f"a postgresql:// state store needs psycopg, which is not installed: {INSTALL}") from None
    return psycopg


class PostgresState(SQLState):
    placeholder = "%s"
    #: set once the tables exist: from then on a transaction only writes (a flush), and goes in
    #: pipeline mode, where results are not read until it ends
    pipelined = False

    def __init__(self, url: str, redact: Callable[[str], str] = lambda text: text) -> None:
        self.url = url
        #: how messages name this store
        self.shown = hide_passwords(redact(url))
        self.psycopg = driver()
        try:
            super().__init__(redact)
        except self.psycopg.Error as exc:
            raise StateError(self._failure("cannot open the state store", exc)) from None
        self.pipelined = self.psycopg.Pipeline.is_supported()  # libpq 14 or later

    def name(self) -> str:
        return self.shown

    def connect(self) -> Any:
        options = {} if "connect_timeout" in self.url else {"connect_timeout": CONNECT_TIMEOUT}
        return self.psycopg.connect(self.url, autocommit=True, **options)

    def index_names(self, cursor: Any) -> set[str]:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        return {row[0] for row in cursor.fetchall()}

    def creating_tables(self, cursor: Any) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (CREATE_LOCK,))

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A flush in pipeline mode: its batch of statements goes to the server at once, not one
        round trip each (psycopg rolls back if one fails)."""
        if not self.pipelined:
            with super()._transaction() as cursor:
                yield cursor
            return
        with self.db.pipeline(), self.db.transaction(), self.db.cursor() as cursor:
            yield cursor

    def _text(self, value: str | None) -> str | None:
        text = super()._text(value)
        return None if text is None else text.replace("\x00", "\\x00")  # PostgreSQL text cannot hold NUL

    def _failure(self, what: str, exc: Exception) -> str:
        """One line: the store (password masked), and the server's or the driver's reason."""
        first, *more = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        reason = "; ".join([first.removeprefix("connection failed: "), *(line[:1].lower() + line[1:] for line in more)])
        return f"{what} {self.shown}: {hide_passwords(self.redact(reason))}"
