"""What the API reads of a server: its served files under their file ids, the run histories they
record into, and the redactor every answer goes through.

A file id is the file's path relative to the folder the server's targets share, with ``/`` written
``~`` (``etl.yaml``, or ``team-a~etl.yaml`` when two folders are served): one URL path segment,
the same across restarts. It is only ever looked up among the files being served, never used as a
path: an id the server does not serve is a 404, whatever it spells.

Runs are shown only when they are of a served file (a history may be shared with files the server
does not serve: those runs stay out of every answer).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.serve.api.responses import ApiError

if TYPE_CHECKING:
    from orchestrator.runstate.history.sql import SQLState
    from orchestrator.serve.catalog import Served
    from orchestrator.serve.server import Server

__all__ = ["Catalog"]


class Catalog:
    """The server's files and histories as the API sees them; histories are opened on first use
    and kept open (each read holds its store's lock, so the threads answering requests share them)."""

    def __init__(self, server: Server, token: str | None = None) -> None:
        self.server = server
        #: the server's access token, hidden like a secret should anything ever quote it
        self.token = token
        folders = [path if os.path.isdir(path) else os.path.dirname(path) for path in map(os.path.abspath, server.targets)]
        self.root = Path(os.path.commonpath(folders)) if folders else Path.cwd()
        self._histories: dict[str, SQLState] = {}
        self._lock = threading.Lock()

    # -- files ---------------------------------------------------------------------------------------

    def file_id(self, path: Path) -> str:
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            relative = Path(path.name)
        return relative.as_posix().replace("/", "~")

    def files(self) -> list[tuple[str, Served]]:
        """Every served file with its id, in the order the server loaded them."""
        return [(self.file_id(served.path), served) for served in list(self.server.served.values())]

    def file(self, file_id: str) -> Served:
        for known, served in self.files():
            if known == file_id:
                return served
        raise ApiError(404, f"no served file {file_id!r}; GET /api/files lists the files this server serves")

    def at(self, path: Path) -> tuple[str, Served]:
        """The served file at ``path``, with its id."""
        served = self.server.served.get(path)
        if served is None:
            raise ApiError(404, f"{path.name} is no longer served")
        return self.file_id(path), served

    def pipeline(self, file_id: str, name: str) -> Served:
        served = self.file(file_id)
        if name not in served.plan.pipelines:
            names = ", ".join(served.plan.pipelines)
            raise ApiError(404, f"no pipeline {name!r} in {file_id} (its pipelines: {names})")
        return served

    def configs(self) -> dict[str, tuple[str, Served]]:
        """Served files by how the history names them (the resolved path), with their ids."""
        return {str(served.plan.source.resolve()): (file_id, served) for file_id, served in self.files()}

    # -- histories -----------------------------------------------------------------------------------

    def history(self, served: Served) -> SQLState:
        from orchestrator.runstate.history import open_state
        from orchestrator.serve.store import store_key

        key = store_key(served.plan.state, served.plan.base_dir)
        with self._lock:
            if key not in self._histories:
                self._histories[key] = open_state(served.plan.state, served.plan.base_dir, self.redact)
            return self._histories[key]

    def histories(self) -> list[tuple[SQLState, list[str]]]:
        """Each history the served files record into, with the files (as it names them) it holds."""
        found: dict[int, tuple[SQLState, list[str]]] = {}
        for config, (_file_id, served) in self.configs().items():
            history = self.history(served)
            found.setdefault(id(history), (history, []))[1].append(config)
        return list(found.values())

    def find_run(self, run_id: str) -> tuple[SQLState, str, Served, dict[str, Any]]:
        """A recorded run of a served file: its history, file id, file and row (404 otherwise). The id
        is only ever a value of a query (ids recorded before they were checked are found too)."""
        configs = self.configs()
        for history, _names in self.histories():
            row = history.run(run_id)
            if row is not None and row["config"] in configs:
                file_id, served = configs[row["config"]]
                return history, file_id, served, row
        raise ApiError(404, f"no run {run_id!r} of a served file in the history; GET /api/runs lists the recorded ones")

    # -- secrets -------------------------------------------------------------------------------------

    def redactor(self) -> Callable[[str], str]:
        """What hides every secret any served file knows of (values of secret-named environment
        variables) and every URL password: every answer goes through it."""
        from orchestrator.config.interpolate import redactor

        found: set[str] = {self.token} if self.token else set()
        for served in list(self.server.served.values()):
            found |= served.plan.secrets
        return redactor(frozenset(found))

    def redact(self, text: str) -> str:
        return self.redactor()(text)

    def close(self) -> None:
        with self._lock:
            for history in self._histories.values():
                history.close()
            self._histories.clear()
