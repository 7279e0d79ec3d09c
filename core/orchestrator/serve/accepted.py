"""Runs accepted through the API, carried to an end across restarts: the ledger ``schedule_api_runs``.

A run asked for through the API (run now, resume, replay dead letters) is recorded here, and
committed, before the API answers 202: from then on the server owes it an end. The record holds
what the run needs to start again (its kind, file, pipeline, params, ``${schedule.*}`` values,
selection, the run it replays), so a server that stopped before starting it, or while it ran, is
not the end of it: the next server on the store starts it under its recorded run id, or resumes it
(``--resume``) when the history shows it began. A run that ended (succeeded, failed, or cancelled
by a user: the user asked it to stop) is marked so and never started again.

Each unfinished record is held by one server (``holder``) until ``expires_at``, as the scheduler
lease is: its holder renews it every heartbeat and releases it when it stops, and another server
takes a record over only once it is free or expired, in one conditional UPDATE (:meth:`take`), so
two servers on one store never both resume one run. A server that was SIGKILLed leaves its records
to expire, and the holder of the scheduler lease takes them over then.

Params are recorded as the history records them, with the values of secrets replaced: a run whose
params held one is not started again from here (``secret``), as ``POST /api/runs/{id}/resume``
does not resume one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.serve.runs import Job
from orchestrator.serve.store import Clock, Store, from_stamp, stamp, utc_now
from orchestrator.serve.ticks import Lease, check_lease

if TYPE_CHECKING:
    from orchestrator.config.model import Plan

__all__ = ["ACCEPTED", "UNFINISHED", "AcceptedRun", "AcceptedRuns", "accept"]

ACCEPTED, STARTED, SUCCEEDED, FAILED, CANCELLED = "accepted", "started", "succeeded", "failed", "cancelled"
#: a record in one of these still owes its run an end
UNFINISHED = (ACCEPTED, STARTED)
ENDED = (SUCCEEDED, FAILED, CANCELLED)

TABLES = (
    """CREATE TABLE IF NOT EXISTS schedule_api_runs (
        run_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        config TEXT NOT NULL,
        job TEXT NOT NULL,
        secret INTEGER NOT NULL,
        status TEXT NOT NULL,
        holder TEXT,
        expires_at TEXT NOT NULL,
        accepted_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS schedule_api_runs_status ON schedule_api_runs (status)",
)

_COLUMNS = "run_id, kind, config, job, secret, status, holder, expires_at, accepted_at, updated_at"
_OPEN = f"status IN ({', '.join(repr(status) for status in UNFINISHED)})"


@dataclass(frozen=True, slots=True)
class AcceptedRun:
    """One record: ``job`` is the run as the API accepted it (params as recorded)."""

    job: Job
    secret: bool
    status: str
    holder: str | None
    expires_at: datetime
    accepted_at: datetime

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> AcceptedRun:
        run_id, kind, config, text, secret, status, holder, expires, accepted, _updated = row
        spec = json.loads(text)
        selection = spec["selection"]
        job = Job(kind, spec["key"], Path(config), spec["pipeline"], run_id, spec["variables"], resume=spec["resume"],
                  params=spec["params"], replay=spec["replay"], selection=None if selection is None else tuple(selection),
                  accepted=True)
        return cls(job, bool(secret), status, holder, from_stamp(expires), from_stamp(accepted))


def _described(job: Job) -> str:
    return json.dumps({
        "key": job.key, "pipeline": job.pipeline, "params": job.params, "variables": job.variables,
        "selection": None if job.selection is None else list(job.selection), "replay": job.replay, "resume": job.resume,
    }, sort_keys=True)


class AcceptedRuns:
    """The ``schedule_api_runs`` table on one connection (created if missing)."""

    def __init__(self, connection: Any, *, clock: Clock = utc_now) -> None:
        self.store = Store(connection)
        self.clock = clock
        self.store.create(TABLES)

    def accept(self, job: Job, *, by: str, ttl: timedelta, redact: Callable[[str], str] | None = None) -> bool:
        """Record ``job`` as accepted and held by ``by``; False when its run id is already
        recorded and not ended (another request, or a server, carries it now). ``redact`` hides
        secret values in what is recorded (a run with one is then ``secret``)."""
        text = _described(job)
        hidden = redact(text) if redact is not None else text
        now = self.clock()
        values = (job.run_id, job.kind, str(job.config), hidden, int(hidden != text), ACCEPTED, by, stamp(now + ttl), stamp(now), stamp(now))
        with self.store.transaction() as store:
            done = store.execute(
                f"INSERT INTO schedule_api_runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET kind = excluded.kind, config = excluded.config, job = excluded.job, "
                "secret = excluded.secret, status = excluded.status, holder = excluded.holder, expires_at = excluded.expires_at, "
                "accepted_at = excluded.accepted_at, updated_at = excluded.updated_at "
                f"WHERE schedule_api_runs.status IN ({', '.join('?' * len(ENDED))})",
                (*values, *ENDED),
            ).rowcount
        return bool(done == 1)

    def mark(self, run_id: str, status: str, *, by: str) -> bool:
        """Move a record ``by`` holds on: ``started``, then how its run ended. False when ``by``
        no longer holds it (another server took it over after this one's hold expired)."""
        if status not in (STARTED, *ENDED):
            raise ValueError(f"a run accepted through the API cannot be marked {status!r}")
        with self.store.transaction() as store:
            changed = store.execute(
                "UPDATE schedule_api_runs SET status = ?, updated_at = ? WHERE run_id = ? AND holder = ?",
                (status, stamp(self.clock()), run_id, by),
            ).rowcount
        return bool(changed == 1)

    def renew(self, by: str, ttl: timedelta) -> None:
        """Every heartbeat: ``by`` still carries its unfinished records for ``ttl`` more."""
        with self.store.transaction() as store:
            store.execute(
                f"UPDATE schedule_api_runs SET expires_at = ? WHERE holder = ? AND {_OPEN}", (stamp(self.clock() + ttl), by)
            )

    def release(self, by: str) -> None:
        """On stopping: ``by`` gives up its unfinished records at once, for the next server."""
        with self.store.transaction() as store:
            store.execute(
                f"UPDATE schedule_api_runs SET holder = NULL, expires_at = ? WHERE holder = ? AND {_OPEN}", (stamp(self.clock()), by)
            )

    def orphans(self) -> list[AcceptedRun]:
        """Unfinished records nobody holds (released, or their holder's hold expired), oldest first."""
        rows = self.store.rows(
            f"SELECT {_COLUMNS} FROM schedule_api_runs WHERE {_OPEN} AND (holder IS NULL OR expires_at <= ?) "
            "ORDER BY accepted_at, run_id",
            (stamp(self.clock()),),
        )
        return [AcceptedRun.from_row(row) for row in rows]

    def take(self, run_id: str, *, by: str, ttl: timedelta, lease: Lease | None = None) -> bool:
        """Hold an orphaned record (True), or learn that another server took it first or it ended
        (False). Raises :class:`~orchestrator.serve.ticks.LeaseLost` when ``lease`` is no longer held."""
        now = self.clock()
        with self.store.transaction() as store:
            check_lease(store, lease, now)
            taken = store.execute(
                f"UPDATE schedule_api_runs SET holder = ?, expires_at = ?, updated_at = ? "
                f"WHERE run_id = ? AND {_OPEN} AND (holder IS NULL OR expires_at <= ?)",
                (by, stamp(now + ttl), stamp(now), run_id, stamp(now)),
            ).rowcount
        return bool(taken == 1)

    def get(self, run_id: str) -> AcceptedRun | None:
        rows = self.store.rows(f"SELECT {_COLUMNS} FROM schedule_api_runs WHERE run_id = ?", (run_id,))
        return AcceptedRun.from_row(rows[0]) if rows else None


def accept(job: Job, plan: Plan, *, by: str, ttl: timedelta) -> None:
    """Record ``job`` (of ``plan``'s file) as accepted by server ``by``, on a connection of its own
    (the API's threads do not share the server loop's); RuntimeError when its run is already
    accepted and not ended."""
    from orchestrator.config.interpolate import redactor
    from orchestrator.serve.store import connect

    job.accepted = True
    connection = connect(plan.state, plan.base_dir)
    try:
        if not AcceptedRuns(connection).accept(job, by=by, ttl=ttl, redact=redactor(frozenset(plan.secrets))):
            raise RuntimeError(f"run {job.run_id} was accepted through the API already and has not ended: a server carries it")
    finally:
        connection.close()
