"""Database failures as the one line a user reads: what failed, on which database, what to do.

SQLAlchemy's own messages run over several lines (the SQL, the parameters, a link) and the
parameters may hold data; the driver's first line is what the user needs. The database is named by
its URL with the password masked, and the password is also removed from the driver's message, so
no message ever carries it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, quote_plus

import sqlalchemy as sa
from sqlalchemy.engine import URL

from orchestrator.errors import StepError

#: pip packages that provide the DBAPI modules SQLAlchemy's dialects import.
DRIVER_PACKAGES = {
    "psycopg": "'psycopg[binary]'",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
    "mysql": "mysql-connector-python",
    "mariadb": "mariadb",
    "pyodbc": "pyodbc",
    "pymssql": "pymssql",
    "oracledb": "oracledb",
    "cx_Oracle": "cx_Oracle",
}

# (pattern in the driver's message or SQLSTATE, what to do); the first match wins.
_CONNECT_HINTS = [
    (r"password authentication failed|authentication failed|28P01|28000", "check the user name and password in the URL"),
    (r'role ".*" does not exist', "check the user name in the URL"),
    (r'database ".*" does not exist|3D000', "create the database, or fix its name in the URL"),
    (r"unable to open database file", "check the SQLite path in the URL and that its directory exists"),
    (
        r"refused|could not connect|timeout|timed out|translate host name|no route|unreachable|resolve|Name or service",
        "check that the server is running and that the host and port in the URL are right",
    ),
]
_STATEMENT_HINTS = [
    (r"42P10|ON CONFLICT clause does not match", "the table needs a unique index or primary key on exactly the key columns"),
    (r"42P01|no such table|relation .* does not exist|table .* doesn't exist", "check the table name and schema, or create the table first"),
    (r"3F000|schema .* does not exist|unknown database", "create the schema first, or fix args.schema"),
    (r"42703|no such column|has no column|column .* does not exist", "check the column names"),
    (r"42601|syntax error|incomplete input", "fix the SQL"),
    (r"23505|UNIQUE constraint failed|duplicate key", "a key is repeated, in the rows or between the rows and the table; mode upsert updates existing rows"),
    (r"42501|permission denied|readonly database|read-only", "the database user may not do this; grant the privilege or use another user"),
    (r"2BP01|other objects depend on it", "views or other objects depend on the table, so it cannot be dropped; drop them first, or load with mode upsert"),
    (r"database is locked", "another process holds the database's write lock; retry when it has finished"),
]


class Failures:
    """Builds the StepError for a failure on one database, masking its password everywhere."""

    def __init__(self, url: URL) -> None:
        if url.get_backend_name() == "sqlite":  # a file path reads best unescaped (and has no password)
            self.shown = f"{url.drivername}://" + (f"/{url.database}" if url.database else "")
        else:
            self.shown = url.render_as_string(hide_password=True)
        password = str(url.password) if url.password else ""
        forms = (url.render_as_string(hide_password=False), password, quote(password, safe=""), quote_plus(password))
        self._secrets = [form for form in dict.fromkeys(forms) if form]  # longest (the URL) first

    def scrub(self, text: str) -> str:
        """``text`` without the password (or the full URL), should a driver have echoed it."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def connection(self, exc: BaseException) -> StepError:
        """Could not connect: say where to, why, and what to check."""
        message = self.scrub(driver_message(exc))
        return StepError(_with_hint(f"cannot connect to {self.shown}: {message}", message, exc, _CONNECT_HINTS))

    def statement(self, action: str, exc: BaseException) -> StepError:
        """A statement failed (or the connection broke while running it)."""
        message = self.scrub(driver_message(exc))
        hints = _STATEMENT_HINTS if not _is_disconnect(exc) else _CONNECT_HINTS
        return StepError(_with_hint(f"{action} failed on {self.shown}: {message}", message, exc, hints))


def missing_driver(url: URL, exc: ModuleNotFoundError) -> StepError:
    """The dialect's DBAPI module is not installed: name the pip package to install."""
    module = (exc.name or "").split(".")[0]
    package = DRIVER_PACKAGES.get(module, module or "the driver")
    scheme = url.drivername
    return StepError(
        f"the database driver {module!r} for {scheme}:// is not installed; "
        f"pip install {package} (into the orchestrator's environment), or name another driver in the URL"
    )


def driver_message(exc: BaseException) -> str:
    """The first useful line of the driver's own message, without SQLAlchemy's SQL/parameters dump."""
    original = getattr(exc, "orig", None)
    text = str(original) if original is not None else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("[SQL", "[parameters", "(Background on this error"))]
    if not lines:
        return type(original or exc).__name__
    first = lines[0]
    # psycopg lists every address it tried ("Multiple connection attempts failed. All failures
    # were:"): the first attempt's reason is what says what happened
    if first.endswith(":") and len(lines) > 1:
        first = f"{first} {lines[1].lstrip('- ')}"
    return " ".join(first.split())


def _sqlstate(exc: BaseException) -> str:
    original: Any = getattr(exc, "orig", None)
    return str(getattr(original, "sqlstate", "") or "")


def _is_disconnect(exc: BaseException) -> bool:
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def _with_hint(line: str, message: str, exc: BaseException, hints: list[tuple[str, str]]) -> str:
    haystack = f"{_sqlstate(exc)} {message}"
    for pattern, hint in hints:
        if re.search(pattern, haystack, re.IGNORECASE):
            return f"{line}; {hint}"
    return line
