"""Run state: the history of runs (which the CLI shows and ``--resume`` continues), and the
directory beside it that holds checkpoints and dead letters.

``state:`` in the config chooses the store by URL: ``sqlite:///PATH`` (the default,
``.orchestrator/state.db`` relative to the pipeline file), ``postgresql://USER:PASSWORD@HOST/DB``
(``postgres://`` too; needs psycopg) or ``off``. Every store is a
:class:`~orchestrator.runstate.history.sql.SQLState`; a backend only says how to connect.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from orchestrator.config.model import Plan
from orchestrator.runstate.progress import Progress, config_hash
from orchestrator.runstate.history.sql import SQLState, StateError

__all__ = ["Progress", "SQLState", "StateError", "config_hash", "open_state", "state_directory", "state_for"]

SQLITE = "sqlite:///"
POSTGRES = ("postgresql://", "postgres://")


def open_state(url: str, base_dir: Path, redact: Callable[[str], str] = lambda text: text) -> SQLState:
    """The store a ``state:`` URL names; relative SQLite paths are relative to ``base_dir``.
    Raises StateError when it cannot be opened (the message masks the URL's password)."""
    if url.startswith(POSTGRES):
        from orchestrator.runstate.history.postgres import PostgresState

        return PostgresState(url, redact)
    if not url.startswith(SQLITE):
        from orchestrator.config.interpolate import hide_passwords

        raise StateError(
            f"unknown state store {hide_passwords(redact(url))!r}: use sqlite:///PATH, "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (or postgres://), or off"
        )
    from orchestrator.runstate.history.sqlite import SQLiteState

    return SQLiteState(base_dir / url.removeprefix(SQLITE), redact)


def state_for(plan: Plan, redact: Callable[[str], str]) -> SQLState | None:
    """The store the plan's ``state:`` names, or None when it says ``off``."""
    if plan.state == "off":
        return None
    return open_state(plan.state, plan.base_dir, redact)


def state_directory(plan: Plan) -> Path | None:
    """Where checkpoints and dead letters of the plan's runs go: the SQLite file's folder, or
    ``.orchestrator`` beside the pipeline file for a server-side store; None when state is off."""
    if plan.state == "off":
        return None
    if plan.state.startswith(SQLITE):
        return (plan.base_dir / plan.state.removeprefix(SQLITE)).parent
    return plan.base_dir / ".orchestrator"
