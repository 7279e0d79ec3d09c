"""Recording a run into the history: a consumer of the run's event stream, one handler per kind of
event that changes the history.

The store listens to the run's events, so it records the same thing whatever the executor (events
from worker processes are relayed back). A finished load or transform_at_load step or pipeline is
committed within ``urgent_seconds`` (what a resume must not repeat); a finished transform_at_load
step at once, before the event goes on (to the terminal, to the next step).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from itertools import count
from typing import ClassVar

from orchestrator.config.model import Plan
from orchestrator.config.phases import LOAD, TRANSFORM_AT_LOAD
from orchestrator.events import Event, EventSink, Kind
from orchestrator.runstate.history.store import SQLStore
from orchestrator.runstate.progress import config_hash

START_ATTEMPT = (
    "INSERT INTO step_attempts (run_id, pipeline, phase, step, plugin, attempt, status, started) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, pipeline, step, attempt) DO UPDATE SET "
    "phase = excluded.phase, plugin = excluded.plugin, status = excluded.status, started = excluded.started"
)

#: a step attempt's row written whole: its start (:data:`START_ATTEMPT`) and its end in one statement,
#: when both are in one batch (see ``SQLStore._amend``)
WHOLE_ATTEMPT = (
    "INSERT INTO step_attempts (run_id, pipeline, phase, step, plugin, attempt, status, started, finished, elapsed, rows, "
    "error, rejected, rows_in, cpu, rss, bytes_read, bytes_written, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?) ON CONFLICT (run_id, pipeline, step, attempt) DO UPDATE SET phase = excluded.phase, "
    "plugin = excluded.plugin, status = excluded.status, started = excluded.started, finished = excluded.finished, "
    "elapsed = excluded.elapsed, rows = excluded.rows, error = excluded.error, rejected = excluded.rejected, "
    "rows_in = excluded.rows_in, cpu = excluded.cpu, rss = excluded.rss, bytes_read = excluded.bytes_read, "
    "bytes_written = excluded.bytes_written, cost = excluded.cost"
)
WHOLE_PHASE = (
    "INSERT INTO phase_runs (run_id, pipeline, phase, status, started, finished, elapsed) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, pipeline, phase) DO UPDATE SET status = excluded.status, started = excluded.started, "
    "finished = excluded.finished, elapsed = excluded.elapsed"
)
WHOLE_PIPELINE = (
    "INSERT INTO pipeline_runs (run_id, pipeline, status, started, finished, elapsed, error, rows, cpu, rss, bytes_read, "
    "bytes_written, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, pipeline) DO UPDATE SET status = excluded.status, started = excluded.started, "
    "finished = excluded.finished, elapsed = excluded.elapsed, error = excluded.error, rows = excluded.rows, "
    "cpu = excluded.cpu, rss = excluded.rss, bytes_read = excluded.bytes_read, bytes_written = excluded.bytes_written, "
    "cost = excluded.cost"
)

#: the step kinds whose completion is committed at once: repeating them on resume is not free
_DURABLE_PHASES = (LOAD, TRANSFORM_AT_LOAD)

#: looked up once: reading a member off its enum costs a lookup per event
_RUN_FINISHED = Kind.RUN_FINISHED
_STEP_FINISHED = Kind.STEP_FINISHED
_STEP_RETRY = Kind.STEP_RETRY

#: log lines kept per step attempt (and per pipeline, and per run, for lines logged outside a
#: step): a step that logs in a loop must not fill the history; the line that reaches the cap says so
LOG_LINES_KEPT = 1000
#: characters kept of one log line
LOG_LINE_CHARACTERS = 4000
LOG_CAPPED = (
    f"log capped: only the first {LOG_LINES_KEPT:,} lines of this step attempt are kept in the history; "
    "the rest were shown (terminal, --json) but not kept"
)


class Recording(SQLStore):
    """Writes what a run's events say."""

    def recording(self, run_id: str, plan: Plan, forward: EventSink, *, resumed: bool = False) -> EventSink:
        """Record the start of a run (or, ``resumed``, that a recorded run goes on), and return
        an event sink that records each of its events, then hands it on."""
        if resumed:
            self._write(
                "UPDATE runs SET status = 'running', finished = NULL, elapsed = NULL, retired = NULL, host = ?, pid = ?, "
                "currency = ?, resumed = ? WHERE run_id = ?",
                (socket.gethostname(), os.getpid(), None if plan.cost is None else plan.cost.currency, time.time(), run_id),
            )
            # what was still running when the earlier attempt died did not finish
            for table in ("step_attempts", "phase_runs", "pipeline_runs"):
                self._write(f"UPDATE {table} SET status = 'interrupted' WHERE run_id = ? AND status IN ('running', 'waiting')", (run_id,))
            for row in self._query(
                "SELECT pipeline, step, MAX(attempt) AS attempt FROM step_attempts WHERE run_id = ? GROUP BY pipeline, step",
                run_id,
            ):
                self.attempts[(run_id, row["pipeline"], row["step"])] = row["attempt"]
            found = self._query("SELECT MAX(seq) AS seq FROM step_logs WHERE run_id = ?", run_id)
            self.log_seq[run_id] = count((found[0]["seq"] or 0) + 1 if found else 1)
        else:
            self._write(
                "INSERT INTO runs (run_id, config, config_hash, params, status, started, host, pid, config_text, currency) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (run_id, str(plan.source.resolve()), config_hash(plan),
                 self.redact(json.dumps(plan.params, default=str)), time.time(), socket.gethostname(), os.getpid(),
                 self._text(_config_text(plan)), None if plan.cost is None else plan.cost.currency),
            )
            self.log_seq[run_id] = count(1)
        self.flush()
        self.flusher = threading.Thread(target=self._flush_while_quiet, name="orchestrator-state", daemon=True)
        self.flusher.start()

        def record_then_forward(event: Event) -> None:
            self.record(event)
            forward(event)

        return record_then_forward

    def record(self, event: Event) -> None:
        """Keep what an event says (a consumer of the run's event stream: one handler per kind
        that changes the history; the others, like progress, are not kept)."""
        kind = event.kind
        handler = self._handlers.get(kind)
        if handler is None:
            return
        durable = handler(self, event)
        if kind is _RUN_FINISHED or (kind is _STEP_FINISHED and event.phase == TRANSFORM_AT_LOAD):
            # a transform_at_load step is not idempotent: its end is committed before it is shown
            # and before the next step starts, or a resume after a kill now would run it again
            self.flush()
            return
        if durable and not self.urgent.is_set():
            # committed by the background thread within ``urgent_seconds``, with whatever follows
            # (set already: that thread has not cleared it yet, so this statement joins its commit)
            self.urgent.set()
        if len(self.pending) >= self.flush_every or time.monotonic() - self.flushed > self.flush_seconds:
            self.flush()

    def _pipeline_started(self, event: Event) -> bool:
        self._write(
            "INSERT INTO pipeline_runs (run_id, pipeline, status, started) VALUES (?, ?, 'running', ?) "
            "ON CONFLICT (run_id, pipeline) DO UPDATE SET status = excluded.status, started = excluded.started, "
            "finished = NULL, elapsed = NULL, error = NULL",
            (event.run_id, event.pipeline, event.time),
            ("pipeline", event.run_id, event.pipeline),
        )
        return False

    def _pipeline_retry(self, event: Event) -> bool:
        self._write("UPDATE pipeline_runs SET attempts = attempts + 1 WHERE run_id = ? AND pipeline = ?", (event.run_id, event.pipeline))
        return False

    def _pipeline_ended(self, event: Event) -> bool:
        run_id, pipeline = event.run_id, event.pipeline
        ended = (event.status, event.time, event.elapsed, self._text(event.error), event.rows, *_used(event))
        if not self._amend(("pipeline", run_id, pipeline), lambda started: (WHOLE_PIPELINE, (*started[:2], ended[0], started[2], *ended[1:]))):
            self._write(
                "INSERT INTO pipeline_runs (run_id, pipeline, status, finished, elapsed, error, rows, cpu, rss, bytes_read, "
                "bytes_written, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, pipeline) DO UPDATE SET status = excluded.status, finished = excluded.finished, "
                "elapsed = excluded.elapsed, error = excluded.error, rows = excluded.rows, cpu = excluded.cpu, rss = excluded.rss, "
                "bytes_read = excluded.bytes_read, bytes_written = excluded.bytes_written, cost = excluded.cost",
                (run_id, pipeline, *ended),
            )
        if event.kind is Kind.PIPELINE_SKIPPED:
            return False
        if self.open_phases.pop((run_id, pipeline), 0):
            # a phase still running when the pipeline ended did not finish
            self._write(
                "UPDATE phase_runs SET status = ?, finished = ? WHERE run_id = ? AND pipeline = ? AND status = 'running'",
                (event.status, event.time, run_id, pipeline),
            )
        return True

    def _phase_started(self, event: Event) -> bool:
        run_id, pipeline = event.run_id, event.pipeline
        self._write(
            "INSERT INTO phase_runs (run_id, pipeline, phase, status, started) VALUES (?, ?, ?, 'running', ?) "
            "ON CONFLICT (run_id, pipeline, phase) DO UPDATE SET status = excluded.status, started = excluded.started, "
            "finished = NULL, elapsed = NULL",
            (run_id, pipeline, event.phase, event.time),
            ("phase", run_id, pipeline, event.phase),
        )
        key = (run_id, pipeline)
        self.open_phases[key] = self.open_phases.get(key, 0) + 1
        return False

    def _phase_finished(self, event: Event) -> bool:
        run_id, pipeline, phase = event.run_id, event.pipeline, event.phase
        key = (run_id, pipeline)
        if self.open_phases.get(key):
            self.open_phases[key] -= 1
        status, finished, elapsed = event.status or "succeeded", event.time, event.elapsed
        if not self._amend(("phase", run_id, pipeline, phase), lambda started: (WHOLE_PHASE, (*started[:3], status, started[3], finished, elapsed))):
            self._write(
                "UPDATE phase_runs SET status = ?, finished = ?, elapsed = ? WHERE run_id = ? AND pipeline = ? AND phase = ?",
                (status, finished, elapsed, run_id, pipeline, phase),
            )
        return False

    def _step_started(self, event: Event) -> bool:
        key = (event.run_id, event.pipeline or "", event.step or "")
        attempt = self.attempts[key] = self.attempts.get(key, 0) + 1
        self._write(
            START_ATTEMPT, (event.run_id, event.pipeline, event.phase, event.step, event.plugin, attempt, "running", event.time), ("step", *key, attempt)
        )
        return False

    def _step_ended(self, event: Event) -> bool:
        """A step's attempt ended: it finished, failed, or failed and will be tried again."""
        run_id, pipeline = event.run_id, event.pipeline
        key = (run_id, pipeline or "", event.step or "")
        attempt = self.attempts.get(key, 1)
        retried = event.kind is _STEP_RETRY
        status, ended = "failed" if retried else event.status, (
            event.time, None if retried else event.elapsed, event.rows, self._text(event.error), event.rejected, event.rows_in,
            *_used(event),
        )
        if not self._amend(("step", *key, attempt), lambda started: (WHOLE_ATTEMPT, (*started[:6], status, started[7], *ended))):
            self._write(
                "UPDATE step_attempts SET status = ?, finished = ?, elapsed = ?, rows = ?, error = ?, rejected = ?, rows_in = ?, "
                "cpu = ?, rss = ?, bytes_read = ?, bytes_written = ?, cost = ? "
                "WHERE run_id = ? AND pipeline = ? AND step = ? AND attempt = ?",
                (status, *ended, run_id, pipeline, event.step, attempt),
            )
        if retried:  # the next attempt gets its own row, started now
            self.attempts[key] = attempt + 1
            self._write(
                START_ATTEMPT, (run_id, pipeline, event.phase, event.step, event.plugin, attempt + 1, "waiting", event.time),
                ("step", *key, attempt + 1),
            )
        return event.kind is _STEP_FINISHED and event.phase in _DURABLE_PHASES

    def ended_as(self, run_id: str, status: str) -> None:
        """Record how a run ended when its own events could not say (``cancelled`` on request)."""
        self._write("UPDATE runs SET status = ? WHERE run_id = ?", (status, run_id))
        self.flush()

    def _log(self, event: Event) -> bool:
        """A line a step logged, kept up to :data:`LOG_LINES_KEPT` per step attempt."""
        run_id = event.run_id
        attempt = self.attempts.get((run_id, event.pipeline or "", event.step or "")) if event.step else None
        key = (run_id, event.pipeline, event.step, attempt)
        kept = self.log_lines.get(key, 0)
        if kept > LOG_LINES_KEPT:
            return False
        self.log_lines[key] = kept + 1
        level, message = event.level or "info", (event.message or "")[:LOG_LINE_CHARACTERS]
        if kept == LOG_LINES_KEPT:
            level, message = "warning", LOG_CAPPED
        seq = self.log_seq.setdefault(run_id, count(1))
        self._write(
            "INSERT INTO step_logs (run_id, seq, pipeline, step, attempt, time, level, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, next(seq), event.pipeline, event.step, attempt, event.time, level, self._text(message)),
        )
        return False

    def _run_finished(self, event: Event) -> bool:
        self._write(
            "UPDATE runs SET status = ?, finished = ?, elapsed = ?, cpu = ?, rss = ?, cost = ? WHERE run_id = ?",
            (event.status, event.time, event.elapsed, event.cpu, event.rss, event.cost, event.run_id),
        )
        return False

    #: what each kind of event changes in the history; the handler says whether it must be durable soon
    _handlers: ClassVar[dict[Kind, Callable[[Recording, Event], bool]]] = {
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
        Kind.LOG: _log,
    }


def _config_text(plan: Plan) -> str | None:
    """The pipeline file as it is run (None when it cannot be read: it is not needed to run)."""
    try:
        return plan.source.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _used(event: Event) -> tuple[float | None, int | None, int | None, int | None, float | None]:
    """What an event says the work used, in the order of the history's usage columns."""
    return event.cpu, event.rss, event.bytes_read, event.bytes_written, event.cost
