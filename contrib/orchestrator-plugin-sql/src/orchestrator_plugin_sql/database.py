"""Opening a database from a step's ``url``.

Every step opens its own engine without a pool (a step is one unit of work: nothing to share), and
names the database in messages by its URL with the password masked. The adjustments made here
are the ones a user would otherwise trip over:

- ``postgresql://`` (and the old ``postgres://``) use psycopg 3, the driver this distribution
  installs, instead of SQLAlchemy's default psycopg2;
- a relative SQLite path is relative to the pipeline file, like every path in a pipeline;
- SQLite gets real transactions around DDL too (Python's sqlite3 commits before DDL on its own),
  so a ``replace`` swap or an ``execute`` script is all or nothing there as on PostgreSQL;
- SQLite files stay inside the pipeline's directories, like every path in a pipeline: a ``file:``
  URI is checked as its path is, and SQL that opens a file (``ATTACH``, ``VACUUM INTO``) is refused
  outside them by the core's :mod:`orchestrator.sqlite_sandbox`, which also keeps ``sql.query``
  read-only there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator.sqlite_sandbox import SqliteSandbox
from orchestrator_plugin_sql.failures import Failures, missing_driver

#: Seconds to wait for a PostgreSQL server before giving up (unless the URL sets connect_timeout).
CONNECT_TIMEOUT = 10
#: Seconds a SQLite writer waits for another writer's lock.
SQLITE_BUSY_TIMEOUT = 30

_URL_FORMAT = "dialect+driver://user:password@host:port/database, e.g. postgresql://app:${PG_PASSWORD}@db:5432/shop or sqlite:///out/warehouse.db"


class Database:
    """A database named by a step's ``url``: its engine, and its name as messages show it."""

    def __init__(self, ctx: StepContext, url: str, *, write: bool) -> None:
        self.url = _resolve(ctx, _parse(url), write=write)
        self.failures = Failures(self.url)
        self.shown = self.failures.shown
        self.sandbox = SqliteSandbox(ctx, ctx.plugin, read_only=not write) if self.url.get_backend_name() == "sqlite" else None
        self.engine = _create_engine(self.url, write=write, failures=self.failures, sandbox=self.sandbox)

    @property
    def dialect(self) -> str:
        """The dialect's name: ``postgresql``, ``sqlite``, ``mysql``..."""
        return self.engine.dialect.name

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection; a failure to connect is one StepError saying what to check."""
        try:
            connection = self.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise self.failures.connection(exc) from None
        except ModuleNotFoundError as exc:  # some dialects import their driver on first connect
            raise missing_driver(self.url, exc) from None
        with connection:
            yield connection

    @contextmanager
    def guard(self, action: str) -> Iterator[None]:
        """Turn a database error raised inside into one StepError line: ``{action} failed on ...``."""
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            if self.sandbox is not None and self.sandbox.refused:
                raise StepError(self.sandbox.refused) from None
            raise self.failures.statement(action, exc) from None

    def close(self) -> None:
        """Close whatever the engine still holds (nothing is pooled across steps)."""
        self.engine.dispose()


@contextmanager
def open_database(ctx: StepContext, url: str, *, write: bool) -> Iterator[tuple[Database, Connection]]:
    """Open the database and one connection, and release both however the step ends."""
    database = Database(ctx, url, write=write)
    try:
        with database.connect() as connection:
            yield database, connection
    finally:
        database.close()


def _parse(text: str) -> URL:
    try:
        url = sa.make_url(text)
    except (ArgumentError, ValueError):
        # the message must not echo the text: it may hold a password
        raise StepError(f"args.url is not a database URL; expected {_URL_FORMAT}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _resolve(ctx: StepContext, url: URL, *, write: bool) -> URL:
    """Make a relative SQLite file relative to the pipeline file; readers need the file to exist."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return url
    if url.database.startswith("file:"):  # an SQLite URI: its path is checked like any other
        return _resolve_uri(ctx, url, write=write)
    path = ctx.path(url.database)
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        relative = "" if Path(url.database).expanduser().is_absolute() else " (a relative path in the URL is relative to the pipeline file)"
        raise StepError(f"SQLite database not found: {path}{relative}; check the path, or load the database first")
    return url.set(database=str(path))


def _resolve_uri(ctx: StepContext, url: URL, *, write: bool) -> URL:
    """An SQLite ``file:`` URI (``sqlite:///file:data/x.db?mode=ro&uri=true``): an in-memory one
    is taken as written; else its path, relative to the pipeline file, must be inside the
    pipeline's directories, and the URI is rewritten with the checked absolute path."""
    parts = urlsplit(url.database or "")
    if url.query.get("mode") == "memory" or parse_qs(parts.query).get("mode") == ["memory"]:
        return url
    if parts.netloc not in ("", "localhost"):
        raise StepError("an SQLite file: URI must name a local file (file:path or file:///path); check args.url")
    resolved = _resolve(ctx, url.set(database=unquote(parts.path)), write=write)
    query = f"?{parts.query}" if parts.query else ""
    return resolved.set(database=f"file:{quote(resolved.database or '')}{query}")


def _create_engine(url: URL, *, write: bool, failures: Failures, sandbox: SqliteSandbox | None) -> Engine:
    options: dict[str, Any] = {"poolclass": NullPool}
    backend = url.get_backend_name()
    if backend == "sqlite":
        # the engine pulls a streamed step's batches from whichever worker thread is free
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
    elif backend == "postgresql" and "connect_timeout" not in url.query:
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    try:
        dialect = url.get_dialect()
        if getattr(dialect, "is_async", False):
            raise StepError(
                f"{failures.shown}: driver {url.get_driver_name()!r} is asynchronous; "
                "use a synchronous one such as postgresql+psycopg:// or sqlite://"
            )
        engine = sa.create_engine(url, **options)
    except NoSuchModuleError:
        raise StepError(
            f"unknown database dialect or driver {url.drivername!r} in args.url ({failures.shown}); "
            "check the URL's scheme, or install the package that provides that dialect"
        ) from None
    except ModuleNotFoundError as exc:
        raise missing_driver(url, exc) from None
    except ArgumentError as exc:
        raise StepError(f"cannot use {failures.shown}: {failures.scrub(str(exc))}") from None
    if backend == "sqlite":
        _sqlite_transactions(engine, "BEGIN IMMEDIATE" if write else "BEGIN")
    if sandbox is not None:
        event.listen(engine, "connect", lambda dbapi_connection, record: sandbox.guard(dbapi_connection))
    return engine


def _sqlite_transactions(engine: Engine, begin: str) -> None:
    """SQLAlchemy's documented recipe: turn off sqlite3's own transaction handling and begin
    ourselves, so DDL is transactional. Writers take the write lock up front (BEGIN IMMEDIATE), so
    two writers queue on the busy timeout instead of deadlocking on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)
