"""The embedded default store: a SQLite file, ``.orchestrator/state.db`` beside the pipeline file.

WAL mode lets several ``orchestrator run`` processes record at once; ``synchronous=NORMAL`` means
a commit does not wait for the disk, so a crash of the machine loses at most the last batch of
events, never the database (a crash of the process loses nothing that was committed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.runstate.history.sql import SQLState


class SQLiteState(SQLState):
    def __init__(self, path: Path, redact: Callable[[str], str] = lambda text: text) -> None:
        self.path = path
        super().__init__(redact)

    def connect(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def name(self) -> str:
        return str(self.path)

    def begin(self, cursor: Any) -> None:
        cursor.execute("BEGIN IMMEDIATE")  # take the write lock now, not at the first write
