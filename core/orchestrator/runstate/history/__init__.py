"""The history of runs (which ``orchestrator runs`` shows and ``--resume`` continues).

``state:`` in the config chooses the store by URL: ``sqlite:///PATH`` (the default,
``.orchestrator/state.db`` relative to the pipeline file), ``postgresql://USER:PASSWORD@HOST/DB``
(``postgres://`` too; needs psycopg) or ``off``. Every store is a
:class:`~orchestrator.runstate.history.sql.SQLState`; a backend only says how to connect. Where the
files of its runs go is :mod:`orchestrator.runstate.layout`'s to say.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.config.model import Plan
from orchestrator.runstate.history.sql import SQLState, StateError
from orchestrator.runstate.layout import OFF, POSTGRES, sqlite_file

#: how long opening a SQLite history keeps trying while the file is locked (its busy timeout too)
LOCKED_SECONDS = 30.0


def open_state(url: str, base_dir: Path, redact: Callable[[str], str] = lambda text: text) -> SQLState:
    """The store a ``state:`` URL names; relative SQLite paths are relative to ``base_dir``.
    Raises StateError when it cannot be opened (the message masks the URL's password)."""
    if url.startswith(POSTGRES):
        from orchestrator.runstate.history.postgres import PostgresState

        return PostgresState(url, redact)
    database = sqlite_file(url, base_dir)
    if database is None:
        from orchestrator.config.interpolate import hide_passwords

        raise StateError(
            f"unknown state store {hide_passwords(redact(url))!r}: use sqlite:///PATH, "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (or postgres://), or off"
        )
    import sqlite3

    from orchestrator.runstate.history.sqlite import SQLiteState

    deadline, pause = time.monotonic() + LOCKED_SECONDS, 0.01
    while True:
        try:
            return SQLiteState(database, redact)
        except sqlite3.OperationalError as exc:
            # SQLite answers "locked" without waiting out its busy timeout in a few cases (a
            # connection checkpointing as it closes, say): another try a moment later gets in
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise StateError(_unopenable(url, database, exc)) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
        except (sqlite3.Error, OSError) as exc:
            raise StateError(_unopenable(url, database, exc)) from None


def _unopenable(url: str, path: Path, exc: BaseException) -> str:
    """Why a SQLite history file cannot be opened, and what to do about it, in one line (naming
    the store as the config wrote it: the resolved path may be long and says less)."""
    where = f"the run history (state: {url!r}) cannot be opened"
    text = str(exc).lower()
    if path.is_dir():
        return f"{where}: it is a directory; name a file in state:, e.g. sqlite:///.orchestrator/state.db"
    if "not a database" in text or "malformed" in text:
        return f"{where}: the file is not a SQLite database; point state: at another file, or move this one away"
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError) or "unable to open" in text:
        return f"{where}: the folder or file is not writable; make it writable, choose another state: path, or set state: off"
    if "full" in text or getattr(exc, "errno", None) == 28:
        return f"{where}: the disk is full; free some space, or set state: off"
    return f"{where}: {exc}; choose another state: path, or set state: off"


def state_for(plan: Plan, redact: Callable[[str], str]) -> SQLState | None:
    """The store the plan's ``state:`` names, or None when it says ``off``."""
    if plan.state == OFF:
        return None
    return open_state(plan.state, plan.base_dir, redact)
