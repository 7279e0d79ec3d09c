"""The run history: every run, pipeline run and step attempt, recorded as the run goes.

The store listens to the run's events, so it records the same thing whatever the executor (events
from worker processes are relayed back). SQLite is the embedded default, at
``.orchestrator/state.db`` beside the pipeline file, in WAL mode so several ``orchestrator run``
processes can record at once; ``state:`` in the config points elsewhere, or turns recording off.
Secrets substituted into the config are redacted before anything is stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.events import Event, EventSink
from orchestrator.model import Plan

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, config TEXT NOT NULL, config_hash TEXT NOT NULL, params TEXT NOT NULL,
    status TEXT NOT NULL, started REAL NOT NULL, finished REAL, elapsed REAL
);
CREATE TABLE IF NOT EXISTS pipeline_runs (
    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,
    started REAL, finished REAL, elapsed REAL, error TEXT, PRIMARY KEY (run_id, pipeline)
);
CREATE TABLE IF NOT EXISTS step_attempts (
    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, phase TEXT NOT NULL, step TEXT NOT NULL, plugin TEXT NOT NULL,
    attempt INTEGER NOT NULL, status TEXT NOT NULL, started REAL NOT NULL, finished REAL, elapsed REAL,
    rows INTEGER, error TEXT, PRIMARY KEY (run_id, pipeline, step, attempt)
);
"""



class SQLiteState:
    """Records a run's events into a SQLite database, one transaction per batch of events (every
    ``flush_every`` events or ``flush_seconds``, and at the end of the run), which keeps the cost
    per step small. WAL with ``synchronous=NORMAL``: a commit does not wait for the disk, and a
    crash loses at most the last batch, never the database."""

    flush_every = 500
    flush_seconds = 0.5

    def __init__(self, path: Path, redact: Callable[[str], str] = lambda text: text) -> None:
        self.path = path
        self.redact = redact
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.pending: list[tuple[str, tuple[Any, ...]]] = []
        self.flushed = time.monotonic()
        self.attempts: dict[tuple[str, str, str], int] = {}

    def recording(self, run_id: str, plan: Plan, forward: EventSink) -> EventSink:
        """Record the start of a run, and return an event sink that records each of its events,
        then hands it on."""
        config_hash = hashlib.sha256(plan.source.read_bytes()).hexdigest()
        self._write(
            "INSERT INTO runs (run_id, config, config_hash, params, status, started) VALUES (?, ?, ?, ?, 'running', ?)",
            (run_id, str(plan.source.resolve()), config_hash, self.redact(json.dumps(plan.params, default=str)), time.time()),
        )
        self.flush()

        def record_then_forward(event: Event) -> None:
            self.record(event)
            forward(event)

        return record_then_forward

    def record(self, event: Event) -> None:
        kind, run_id, pipeline = event.kind, event.run_id, event.pipeline
        if kind == "pipeline_started":
            self._write(
                "INSERT OR REPLACE INTO pipeline_runs (run_id, pipeline, status, started) VALUES (?, ?, 'running', ?)",
                (run_id, pipeline, event.time),
            )
        elif kind == "pipeline_retry":
            self._write("UPDATE pipeline_runs SET attempts = attempts + 1 WHERE run_id = ? AND pipeline = ?", (run_id, pipeline))
        elif kind in ("pipeline_finished", "pipeline_skipped"):
            self._write(
                "INSERT INTO pipeline_runs (run_id, pipeline, status, finished, elapsed, error) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, pipeline) DO UPDATE SET status = excluded.status, finished = excluded.finished, "
                "elapsed = excluded.elapsed, error = excluded.error",
                (run_id, pipeline, event.status, event.time, event.elapsed, self._text(event.error)),
            )
        elif kind == "step_started":
            key = (run_id, pipeline or "", event.step or "")
            attempt = self.attempts[key] = self.attempts.get(key, 0) + 1
            self._write(
                "INSERT OR REPLACE INTO step_attempts (run_id, pipeline, phase, step, plugin, attempt, status, started) "
                "VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                (run_id, pipeline, event.phase, event.step, event.plugin, attempt, event.time),
            )
        elif kind in ("step_finished", "step_failed", "step_retry"):
            key = (run_id, pipeline or "", event.step or "")
            attempt = self.attempts.get(key, 1)
            status = "failed" if kind == "step_retry" else event.status
            self._write(
                "UPDATE step_attempts SET status = ?, finished = ?, elapsed = ?, rows = ?, error = ? "
                "WHERE run_id = ? AND pipeline = ? AND step = ? AND attempt = ?",
                (status, event.time, None if kind == "step_retry" else event.elapsed, event.rows,
                 self._text(event.error), run_id, pipeline, event.step, attempt),
            )
            if kind == "step_retry":  # the next attempt gets its own row, started now
                self.attempts[key] = attempt + 1
                self._write(
                    "INSERT OR REPLACE INTO step_attempts (run_id, pipeline, phase, step, plugin, attempt, status, started) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'waiting', ?)",
                    (run_id, pipeline, event.phase, event.step, event.plugin, attempt + 1, event.time),
                )
        elif kind == "run_finished":
            self._write(
                "UPDATE runs SET status = ?, finished = ?, elapsed = ? WHERE run_id = ?",
                (event.status, event.time, event.elapsed, run_id),
            )
            self.flush()
        if len(self.pending) >= self.flush_every or time.monotonic() - self.flushed > self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self.flushed = time.monotonic()
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for statement, values in pending:
                self.db.execute(statement, values)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.flush()
        self.db.close()

    def _write(self, statement: str, values: tuple[Any, ...]) -> None:
        self.pending.append((statement, values))

    def _text(self, value: str | None) -> str | None:
        return None if value is None else self.redact(value)


def state_for(plan: Plan, redact: Callable[[str], str]) -> SQLiteState | None:
    """The store the plan's ``state:`` names (``sqlite:///path``, relative to the pipeline file),
    or None when it says ``off``."""
    if plan.state == "off":
        return None
    return SQLiteState(plan.base_dir / plan.state.removeprefix("sqlite:///"), redact)


def open_history(path: Path) -> sqlite3.Connection:
    """The state database for reading (``orchestrator runs``)."""
    db = sqlite3.connect(path, timeout=30)
    db.row_factory = sqlite3.Row
    return db
