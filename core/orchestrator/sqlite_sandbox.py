"""SQL run on SQLite stays inside the pipeline's directories.

Paths in a config are checked (:meth:`PipelineContext.path`), but SQL names files too: ``ATTACH
DATABASE '/elsewhere/x.db'`` opens (and creates) any file, ``VACUUM INTO`` writes one, and a
``file:`` URI can stand for either. SQLite asks an authorizer before every such operation
(``VACUUM INTO`` attaches its target first), so one authorizer per connection keeps every file a
statement opens inside the pipeline file's directory or ``allowed_paths``, whatever the SQL says.
For steps that only read (``sqlite.read``, the contrib ``sql.query``), it also refuses statements
that write, with ``PRAGMA query_only`` behind it for whatever the authorizer does not name.

The refusal SQLite reports is only "not authorized"; the sandbox keeps the reason, which the
step raises instead (:attr:`SqliteSandbox.refused`).
"""

from __future__ import annotations

import os
import sqlite3
from urllib.parse import parse_qs, unquote, urlsplit

from orchestrator.context import PipelineContext
from orchestrator.errors import StepError

#: what each writing action is called in a refusal
_WRITES = {
    sqlite3.SQLITE_INSERT: "INSERT",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE",
    sqlite3.SQLITE_CREATE_TEMP_TABLE: "CREATE TABLE",
    sqlite3.SQLITE_CREATE_INDEX: "CREATE INDEX",
    sqlite3.SQLITE_CREATE_TEMP_INDEX: "CREATE INDEX",
    sqlite3.SQLITE_CREATE_VIEW: "CREATE VIEW",
    sqlite3.SQLITE_CREATE_TEMP_VIEW: "CREATE VIEW",
    sqlite3.SQLITE_CREATE_TRIGGER: "CREATE TRIGGER",
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER: "CREATE TRIGGER",
    sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE",
    sqlite3.SQLITE_DROP_TABLE: "DROP TABLE",
    sqlite3.SQLITE_DROP_TEMP_TABLE: "DROP TABLE",
    sqlite3.SQLITE_DROP_INDEX: "DROP INDEX",
    sqlite3.SQLITE_DROP_TEMP_INDEX: "DROP INDEX",
    sqlite3.SQLITE_DROP_VIEW: "DROP VIEW",
    sqlite3.SQLITE_DROP_TEMP_VIEW: "DROP VIEW",
    sqlite3.SQLITE_DROP_TRIGGER: "DROP TRIGGER",
    sqlite3.SQLITE_DROP_TEMP_TRIGGER: "DROP TRIGGER",
    sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
    sqlite3.SQLITE_ATTACH: "ATTACH or VACUUM",  # VACUUM attaches a database of its own
    sqlite3.SQLITE_DETACH: "DETACH",
}

_ROW_WRITES = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}
_SCHEMA_TABLES = {"sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema"}

#: pragmas that point SQLite at another directory for its files
_DIRECTORY_PRAGMAS = {"temp_store_directory", "data_store_directory"}


class SqliteSandbox:
    """The authorizer of one step's connections. ``step`` names the step in refusals (its plugin
    name, ``sqlite.read`` say); ``read_only`` refuses every statement that writes."""

    def __init__(self, ctx: PipelineContext, step: str, *, read_only: bool) -> None:
        self.ctx = ctx
        self.step = step
        self.read_only = read_only
        #: why the first refused statement was refused, for the step's error
        self.refused: str | None = None

    def guard(self, connection: sqlite3.Connection) -> None:
        """Install the authorizer (and, read-only, ``PRAGMA query_only``) on a new connection."""
        if self.read_only:
            connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(self._authorize)

    def _authorize(self, action: int, first: str | None, second: str | None, database: str | None, trigger: str | None) -> int:
        try:
            problem = self._problem(action, first, second)
        except Exception as exc:  # noqa: BLE001 - a checker that fails must refuse, never allow
            problem = f"{self.step} could not check a statement ({exc}); it was refused"
        if problem is None:
            return sqlite3.SQLITE_OK
        self.refused = self.refused or problem  # the first: a statement may be asked about again
        return sqlite3.SQLITE_DENY

    def _problem(self, action: int, first: str | None, second: str | None) -> str | None:
        if action == sqlite3.SQLITE_PRAGMA and (first or "").lower() in _DIRECTORY_PRAGMAS and second is not None:
            return f"{self.step} refused PRAGMA {first}: it moves SQLite's files out of the pipeline's directory"
        if self.read_only and action in _ROW_WRITES and (first or "").lower() in _SCHEMA_TABLES:
            return None  # CREATE and DROP write the schema table first: refused as what they are, next
        if self.read_only and (action in _WRITES or (action == sqlite3.SQLITE_PRAGMA and (first or "").lower() == "query_only")):
            what = _WRITES.get(action, "PRAGMA query_only")
            return (
                f"{self.step} runs read-only statements and refused {what}; change the database in a "
                "transform_at_load step (sqlite.execute, sql.execute)"
            )
        if action == sqlite3.SQLITE_ATTACH:
            return self._attach_problem(first or "")
        return None

    def _attach_problem(self, name: str) -> str | None:
        """An attached file (``VACUUM INTO`` attaches its target) must be inside the sandbox; a
        temporary or in-memory database touches no file of the user's."""
        path = name
        if name.startswith("file:"):
            parts = urlsplit(name)
            if parse_qs(parts.query).get("mode") == ["memory"]:
                return None
            if parts.netloc not in ("", "localhost"):
                return f"{self.step} refused ATTACH or VACUUM INTO of {name}: a file URI must name a local file"
            path = unquote(parts.path)
        if path in ("", ":memory:"):
            return None
        full = os.path.abspath(path)  # SQLite opens a relative name from the current directory
        try:
            self.ctx.path(full)
        except StepError:
            allowed = "".join(f", {root}" for root in self.ctx.allowed_paths)
            return (
                f"{self.step} refused ATTACH or VACUUM INTO of {full}: it is outside the pipeline's directory "
                f"{self.ctx.base_dir}{allowed}; use a file inside it, or list its directory under 'allowed_paths' in the config"
            )
        return None
