"""The run history in a SQL database: the statements and bookkeeping SQLite and PostgreSQL share.

The store listens to the run's events, so it records the same thing whatever the executor (events
from worker processes are relayed back). Writes are batched: one transaction every
``flush_every`` events or ``flush_seconds`` (a background thread flushes while a long step is
quiet), at the end of a run, and within ``urgent_seconds`` of a finished load or transform_at_load
step or pipeline (what a resume must not repeat); a finished transform_at_load step at once, before
the event goes on (to the terminal, to the next step). That keeps the cost per step small, and most
commits off the event loop; a killed process loses at most ``flush_seconds`` of history.
A backend only says how to connect and how its driver spells a placeholder.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from itertools import groupby
from operator import itemgetter
from typing import Any, ClassVar

from orchestrator.config.model import Plan
from orchestrator.config.phases import LOAD, TRANSFORM_AT_LOAD
from orchestrator.errors import OrchestratorError
from orchestrator.events import Event, EventSink, Kind
from orchestrator.runstate.history.schema import create_or_migrate
from orchestrator.runstate.progress import Progress, config_hash

START_ATTEMPT = (
    "INSERT INTO step_attempts (run_id, pipeline, phase, step, plugin, attempt, status, started) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, pipeline, step, attempt) DO UPDATE SET "
    "phase = excluded.phase, plugin = excluded.plugin, status = excluded.status, started = excluded.started"
)


class StateError(OrchestratorError):
    """The state store cannot be opened: the message names it (its password masked) and says why."""


#: the step kinds whose completion is committed at once: repeating them on resume is not free
_DURABLE_PHASES = (LOAD, TRANSFORM_AT_LOAD)


class SQLState:
    """Records a run's events into a SQL database and answers what earlier runs did."""

    flush_every = 500
    flush_seconds = 0.5
    #: how soon a finished load, transform_at_load step or pipeline is committed
    urgent_seconds = 0.02
    #: how the driver writes a parameter; statements here are written with ``?``
    placeholder = "?"

    def __init__(self, redact: Callable[[str], str] = lambda text: text) -> None:
        self.redact = redact
        self.pending: list[tuple[str, tuple[Any, ...]]] = []
        self.flushed = time.monotonic()
        self.attempts: dict[tuple[str, str, str], int] = {}
        self.lock = threading.Lock()  # one transaction at a time, in the order the events came
        self.queue_lock = threading.Lock()  # held only to add to, or take, the pending statements
        self.closed = threading.Event()
        self.urgent = threading.Event()
        self.flusher: threading.Thread | None = None
        #: why recording stopped during the run, if it did
        self.failure: str | None = None
        self.db = self.connect()
        with self._transaction() as cursor:
            self.creating_tables(cursor)
            create_or_migrate(cursor)

    # -- what a backend provides ----------------------------------------------------------------

    def connect(self) -> Any:
        """An open DB-API connection in autocommit mode (transactions are begun explicitly)."""
        raise NotImplementedError

    def begin(self, cursor: Any) -> None:
        cursor.execute("BEGIN")

    def creating_tables(self, cursor: Any) -> None:
        """Called in the transaction that creates the tables (if they do not exist), before it
        does: a backend whose CREATE TABLE IF NOT EXISTS can race with another process's takes a lock."""

    # -- recording ------------------------------------------------------------------------------

    def recording(self, run_id: str, plan: Plan, forward: EventSink, *, resumed: bool = False) -> EventSink:
        """Record the start of a run (or, ``resumed``, that a recorded run goes on), and return
        an event sink that records each of its events, then hands it on."""
        if resumed:
            self._write(
                "UPDATE runs SET status = 'running', finished = NULL, elapsed = NULL, retired = NULL, host = ?, pid = ? "
                "WHERE run_id = ?",
                (socket.gethostname(), os.getpid(), run_id),
            )
            # what was still running when the earlier attempt died did not finish
            for table in ("step_attempts", "phase_runs", "pipeline_runs"):
                self._write(f"UPDATE {table} SET status = 'interrupted' WHERE run_id = ? AND status IN ('running', 'waiting')", (run_id,))
            for row in self._query(
                "SELECT pipeline, step, MAX(attempt) AS attempt FROM step_attempts WHERE run_id = ? GROUP BY pipeline, step",
                run_id,
            ):
                self.attempts[(run_id, row["pipeline"], row["step"])] = row["attempt"]
        else:
            self._write(
                "INSERT INTO runs (run_id, config, config_hash, params, status, started, host, pid) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, str(plan.source.resolve()), config_hash(plan),
                 self.redact(json.dumps(plan.params, default=str)), time.time(), socket.gethostname(), os.getpid()),
            )
        self.flush()
        self.flusher = threading.Thread(target=self._flush_while_quiet, name="orchestrator-state", daemon=True)
        self.flusher.start()

        def record_then_forward(event: Event) -> None:
            self.record(event)
            forward(event)

        return record_then_forward

    def record(self, event: Event) -> None:
        """Keep what an event says (a consumer of the run's event stream: one handler per kind
        that changes the history; the others, like progress and log lines, are not kept)."""
        handler = self._handlers.get(event.kind)
        if handler is None:
            return
        durable = handler(self, event)
        if event.kind is Kind.RUN_FINISHED or (event.kind is Kind.STEP_FINISHED and event.phase == TRANSFORM_AT_LOAD):
            # a transform_at_load step is not idempotent: its end is committed before it is shown
            # and before the next step starts, or a resume after a kill now would run it again
            self.flush()
            return
        if durable:  # committed by the background thread within ``urgent_seconds``, with whatever follows
            self.urgent.set()
        if len(self.pending) >= self.flush_every or time.monotonic() - self.flushed > self.flush_seconds:
            self.flush()

    def _pipeline_started(self, event: Event) -> bool:
        self._write(
            "INSERT INTO pipeline_runs (run_id, pipeline, status, started) VALUES (?, ?, 'running', ?) "
            "ON CONFLICT (run_id, pipeline) DO UPDATE SET status = excluded.status, started = excluded.started, "
            "finished = NULL, elapsed = NULL, error = NULL",
            (event.run_id, event.pipeline, event.time),
        )
        return False

    def _pipeline_retry(self, event: Event) -> bool:
        self._write("UPDATE pipeline_runs SET attempts = attempts + 1 WHERE run_id = ? AND pipeline = ?", (event.run_id, event.pipeline))
        return False

    def _pipeline_ended(self, event: Event) -> bool:
        run_id, pipeline = event.run_id, event.pipeline
        self._write(
            "INSERT INTO pipeline_runs (run_id, pipeline, status, finished, elapsed, error) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, pipeline) DO UPDATE SET status = excluded.status, finished = excluded.finished, "
            "elapsed = excluded.elapsed, error = excluded.error",
            (run_id, pipeline, event.status, event.time, event.elapsed, self._text(event.error)),
        )
        if event.kind is Kind.PIPELINE_SKIPPED:
            return False
        # a phase still running when the pipeline ended did not finish
        self._write(
            "UPDATE phase_runs SET status = ?, finished = ? WHERE run_id = ? AND pipeline = ? AND status = 'running'",
            (event.status, event.time, run_id, pipeline),
        )
        return True

    def _phase_started(self, event: Event) -> bool:
        self._write(
            "INSERT INTO phase_runs (run_id, pipeline, phase, status, started) VALUES (?, ?, ?, 'running', ?) "
            "ON CONFLICT (run_id, pipeline, phase) DO UPDATE SET status = excluded.status, started = excluded.started, "
            "finished = NULL, elapsed = NULL",
            (event.run_id, event.pipeline, event.phase, event.time),
        )
        return False

    def _phase_finished(self, event: Event) -> bool:
        self._write(
            "UPDATE phase_runs SET status = ?, finished = ?, elapsed = ? WHERE run_id = ? AND pipeline = ? AND phase = ?",
            (event.status or "succeeded", event.time, event.elapsed, event.run_id, event.pipeline, event.phase),
        )
        return False

    def _step_started(self, event: Event) -> bool:
        key = (event.run_id, event.pipeline or "", event.step or "")
        attempt = self.attempts[key] = self.attempts.get(key, 0) + 1
        self._write(START_ATTEMPT, (event.run_id, event.pipeline, event.phase, event.step, event.plugin, attempt, "running", event.time))
        return False

    def _step_ended(self, event: Event) -> bool:
        """A step's attempt ended: it finished, failed, or failed and will be tried again."""
        run_id, pipeline = event.run_id, event.pipeline
        key = (run_id, pipeline or "", event.step or "")
        attempt = self.attempts.get(key, 1)
        retried = event.kind is Kind.STEP_RETRY
        self._write(
            "UPDATE step_attempts SET status = ?, finished = ?, elapsed = ?, rows = ?, error = ?, rejected = ?, rows_in = ? "
            "WHERE run_id = ? AND pipeline = ? AND step = ? AND attempt = ?",
            ("failed" if retried else event.status, event.time, None if retried else event.elapsed, event.rows,
             self._text(event.error), event.rejected, event.rows_in, run_id, pipeline, event.step, attempt),
        )
        if retried:  # the next attempt gets its own row, started now
            self.attempts[key] = attempt + 1
            self._write(START_ATTEMPT, (run_id, pipeline, event.phase, event.step, event.plugin, attempt + 1, "waiting", event.time))
        return event.kind is Kind.STEP_FINISHED and event.phase in _DURABLE_PHASES

    def _run_finished(self, event: Event) -> bool:
        self._write(
            "UPDATE runs SET status = ?, finished = ?, elapsed = ? WHERE run_id = ?",
            (event.status, event.time, event.elapsed, event.run_id),
        )
        return False

    #: what each kind of event changes in the history; the handler says whether it must be durable soon
    _handlers: ClassVar[dict[Kind, Callable[[SQLState, Event], bool]]] = {
        Kind.PIPELINE_STARTED: _pipeline_started,
        Kind.PIPELINE_RETRY: _pipeline_retry,
        Kind.PIPELINE_FINISHED: _pipeline_ended,
        Kind.PIPELINE_SKIPPED: _pipeline_ended,
        Kind.PHASE_STARTED: _phase_started,
        Kind.PHASE_FINISHED: _phase_finished,
        Kind.STEP_STARTED: _step_started,
        Kind.STEP_FINISHED: _step_ended,
        Kind.STEP_FAILED: _step_ended,
        Kind.STEP_RETRY: _step_ended,
        Kind.RUN_FINISHED: _run_finished,
    }

    def flush(self) -> None:
        """Commit what was recorded so far. A store that stops answering in the middle of a run
        (a server gone, a full disk) does not stop the run: recording ends, and ``failure`` says
        why, for the CLI to warn."""
        with self.lock:
            self.flushed = time.monotonic()
            with self.queue_lock:
                pending, self.pending = self.pending, []
            if not pending or self.failure is not None:
                return
            try:
                with self._transaction() as cursor:
                    # runs of one statement (1,000 pipelines starting at once) go in one executemany
                    for statement, group in groupby(pending, key=itemgetter(0)):
                        cursor.executemany(self._sql(statement), [values for _, values in group])
            except Exception as exc:
                reason = " ".join(str(exc).split()) or type(exc).__name__
                from orchestrator.config.interpolate import hide_passwords

                self.failure = hide_passwords(self.redact(
                    f"the run history in {self.name()} could not be written ({reason}); "
                    "the rest of this run is not recorded and cannot be resumed"
                ))

    def _flush_while_quiet(self) -> None:
        while not self.closed.is_set():
            if self.urgent.wait(self.flush_seconds):
                time.sleep(self.urgent_seconds)  # let the events that come with it join the commit
                self.urgent.clear()
                self.flush()
            elif time.monotonic() - self.flushed >= self.flush_seconds:
                self.flush()

    def close(self) -> None:
        self.closed.set()
        self.urgent.set()
        if self.flusher is not None:
            self.flusher.join()
        self.flush()
        with suppress(Exception):  # a server already gone: failure says so
            self.db.close()

    def name(self) -> str:
        """How messages name this store."""
        return "the state store"

    # -- reading --------------------------------------------------------------------------------

    def runs(self, limit: int, config: str | None = None) -> list[dict[str, Any]]:
        """The latest runs (of pipeline file ``config`` only, when given), newest first, with how
        many pipelines each had and how many of them did not succeed."""
        only = "WHERE r.config = ? " if config is not None else ""
        return self._query(
            "SELECT r.run_id, r.status, r.started, r.elapsed, r.config, r.host, r.pid, "
            "(SELECT COUNT(*) FROM pipeline_runs p WHERE p.run_id = r.run_id) AS pipelines, "
            "(SELECT COUNT(*) FROM pipeline_runs p WHERE p.run_id = r.run_id AND p.status != 'succeeded') AS not_succeeded "
            f"FROM runs r {only}ORDER BY r.started DESC LIMIT ?",
            *([config] if config is not None else []),
            limit,
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        found = self._query("SELECT * FROM runs WHERE run_id = ?", run_id)
        return found[0] if found else None

    def pipelines(self, run_id: str) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM pipeline_runs WHERE run_id = ? ORDER BY started IS NULL, started, pipeline", run_id)

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM step_attempts WHERE run_id = ? ORDER BY started, attempt", run_id)

    def phases(self, run_id: str) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM phase_runs WHERE run_id = ? ORDER BY started, pipeline", run_id)

    def latest_unfinished(self, config: str) -> dict[str, Any] | None:
        """The newest run of this config file that did not succeed: what ``--resume`` continues."""
        found = self._query(
            "SELECT * FROM runs WHERE config = ? AND status != 'succeeded' ORDER BY started DESC LIMIT 1", config
        )
        return found[0] if found else None

    def newer_success(self, config: str, started: float) -> dict[str, Any] | None:
        """The newest run of this config file that succeeded after ``started``, if any."""
        found = self._query(
            "SELECT * FROM runs WHERE config = ? AND status = 'succeeded' AND started > ? ORDER BY started DESC LIMIT 1",
            config, started,
        )
        return found[0] if found else None

    def unretired_before(self, config: str, run_id: str) -> list[dict[str, Any]]:
        """The runs of this config file, started before run ``run_id``, that did not succeed and
        whose checkpoints no later success retired yet: the only ones that may still hold some
        (a run that succeeds removes its own). Retired runs leave the index this reads."""
        return self._query(
            "SELECT run_id, status, host, pid FROM runs WHERE config = ? AND status != 'succeeded' AND retired IS NULL "
            "AND started < (SELECT started FROM runs WHERE run_id = ?)",
            config, run_id,
        )

    def retire(self, run_ids: list[str]) -> None:
        """Note that these runs' checkpoints are gone: no later run looks at them again."""
        now = time.time()
        for run_id in run_ids:
            self._write("UPDATE runs SET retired = ? WHERE run_id = ?", (now, run_id))
        self.flush()

    # -- retention ------------------------------------------------------------------------------

    def configs(self) -> list[str]:
        """Every pipeline file with runs in this store."""
        return [row["config"] for row in self._query("SELECT DISTINCT config FROM runs ORDER BY config")]

    def runs_before(self, config: str, started: float) -> list[dict[str, Any]]:
        """The runs of this config file that started before ``started``, oldest first."""
        return self._query(
            "SELECT run_id, config, status, started, host, pid FROM runs WHERE config = ? AND started < ? ORDER BY started",
            config, started,
        )

    def nth_newest_start(self, config: str, n: int) -> float | None:
        """When the ``n``-th newest run of this config file started (None with fewer runs)."""
        found = self._query("SELECT started FROM runs WHERE config = ? ORDER BY started DESC LIMIT 1 OFFSET ?", config, n - 1)
        return found[0]["started"] if found else None

    def delete_runs(self, runs: list[dict[str, Any]]) -> list[str]:
        """Delete these runs with their pipelines, phases and step attempts, in one transaction.
        A run whose status or process changed since it was read (resumed in the meantime) is kept:
        the delete says what it expects, and the database decides. Returns the ids deleted."""
        deleted: list[str] = []
        with self.lock, self._transaction() as cursor:
            for run in runs:
                cursor.execute(
                    self._sql("DELETE FROM runs WHERE run_id = ? AND status = ? AND COALESCE(pid, -1) = ? RETURNING run_id"),
                    (run["run_id"], run["status"], -1 if run["pid"] is None else run["pid"]),
                )
                deleted += [row[0] for row in cursor.fetchall()]
            if deleted:
                for table in ("pipeline_runs", "phase_runs", "step_attempts"):
                    cursor.executemany(self._sql(f"DELETE FROM {table} WHERE run_id = ?"), [(run_id,) for run_id in deleted])
        return deleted

    def progress(self, run_id: str) -> Progress:
        """What a recorded run completed: its succeeded pipelines, and the succeeded steps (with
        their rows) of the others."""
        self.flush()
        pipelines = {row["pipeline"] for row in self._query(
            "SELECT pipeline FROM pipeline_runs WHERE run_id = ? AND status = 'succeeded'", run_id
        )}
        steps: dict[str, dict[str, int | None]] = {}
        for row in self._query(
            "SELECT pipeline, step, rows FROM step_attempts WHERE run_id = ? AND status = 'succeeded'", run_id
        ):
            if row["pipeline"] not in pipelines:
                steps.setdefault(row["pipeline"], {})[row["step"]] = row["rows"]
        return Progress(frozenset(pipelines), steps)

    # -- plumbing -------------------------------------------------------------------------------

    def _query(self, statement: str, *values: Any) -> list[dict[str, Any]]:
        with self.lock:
            cursor = self.db.cursor()
            try:
                cursor.execute(self._sql(statement), values)
                names = [column[0] for column in cursor.description]
                return [dict(zip(names, row)) for row in cursor.fetchall()]
            finally:
                cursor.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self.db.cursor()
        self.begin(cursor)
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def _sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def _write(self, statement: str, values: tuple[Any, ...]) -> None:
        with self.queue_lock:
            self.pending.append((statement, values))

    def _text(self, value: str | None) -> str | None:
        return None if value is None else self.redact(value)
