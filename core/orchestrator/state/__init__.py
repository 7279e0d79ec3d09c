"""Run state: the history of runs (which the CLI shows and ``--resume`` continues), and the
directory beside it that holds checkpoints and dead letters.

``state:`` in the config chooses the store by URL: ``sqlite:///PATH`` (the default,
``.orchestrator/state.db`` relative to the pipeline file) or ``off``. Every store is a
:class:`~orchestrator.state.sql.SQLState`; a backend only says how to connect.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from orchestrator.model import Plan
from orchestrator.state.progress import Progress, config_hash
from orchestrator.state.sql import SQLState

__all__ = ["Progress", "SQLState", "config_hash", "open_state", "state_directory", "state_for"]

SQLITE = "sqlite:///"


def open_state(url: str, base_dir: Path, redact: Callable[[str], str] = lambda text: text) -> SQLState:
    """The store a ``state:`` URL names; relative SQLite paths are relative to ``base_dir``."""
    from orchestrator.state.sqlite import SQLiteState

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
