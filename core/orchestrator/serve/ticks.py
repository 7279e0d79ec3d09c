"""Exactly once per tick: the tick ledger and the scheduler lease, in the state store's database.

The ledger's one rule: **a tick is recorded, and committed, before its run starts**. The record's
primary key is (schedule id, logical time), so when two schedulers decide the same tick is due, the
database lets exactly one insert win (:meth:`TickLedger.claim` says which). A process that dies
after recording a tick and before starting its run leaves it ``claimed``; whoever schedules next
finds it with :meth:`TickLedger.unstarted` and starts it, so the tick is neither lost nor run twice.

The lease makes one server at a time the one that fires schedules. Its holder renews it every
heartbeat (:meth:`SchedulerLease.acquire` again); another server takes it over only after
``expires_at`` has passed, with a token one higher. Ledger writes made under a lease check it in
the same transaction, so a holder that stalled past its expiry and lost the lease cannot record a
tick anymore (:class:`LeaseLost`). Expiry is judged by the clocks of the servers, which must agree
to well within the lease's time to live (NTP does).

Tables (prefix ``schedule_``): ``schedule_ticks``, ``schedule_lease``, ``schedule_state``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orchestrator.config.schedule import Tick
from orchestrator.serve.store import Clock, Store, from_stamp, stamp, utc_now

__all__ = [
    "CLAIMED",
    "FINISHED",
    "STARTED",
    "STATUSES",
    "Lease",
    "LeaseLost",
    "SchedulerLease",
    "TickLedger",
    "TickRecord",
]

CLAIMED, STARTED, SUCCEEDED, FAILED, SKIPPED, CANCELLED = "claimed", "started", "succeeded", "failed", "skipped", "cancelled"
STATUSES = (CLAIMED, STARTED, SUCCEEDED, FAILED, SKIPPED, CANCELLED)
#: statuses of a tick whose run is over (or never will be): the only ones ``claim(again=...)`` reopens
FINISHED = (SUCCEEDED, FAILED, SKIPPED, CANCELLED)

TABLES = (
    """CREATE TABLE IF NOT EXISTS schedule_ticks (
        schedule_id TEXT NOT NULL,
        logical_time TEXT NOT NULL,
        interval_start TEXT NOT NULL,
        interval_end TEXT NOT NULL,
        status TEXT NOT NULL,
        run_id TEXT,
        claimed_by TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (schedule_id, logical_time))""",
    "CREATE INDEX IF NOT EXISTS schedule_ticks_status ON schedule_ticks (status)",
    """CREATE TABLE IF NOT EXISTS schedule_lease (
        name TEXT PRIMARY KEY,
        holder TEXT,
        token INTEGER NOT NULL,
        acquired_at TEXT NOT NULL,
        expires_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS schedule_state (
        schedule_id TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0)""",
)

_TICK_COLUMNS = "schedule_id, logical_time, interval_start, interval_end, status, run_id, claimed_by, claimed_at, updated_at"


class LeaseLost(RuntimeError):
    """The lease a write was made under has expired or been taken over: stop firing."""


@dataclass(frozen=True, slots=True)
class Lease:
    """A held lease. ``token`` grows by one on every change of holder (a fencing token)."""

    name: str
    holder: str
    token: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TickRecord:
    """One row of the ledger (times in UTC)."""

    schedule_id: str
    logical_time: datetime
    interval_start: datetime
    interval_end: datetime
    status: str
    run_id: str | None
    claimed_by: str
    claimed_at: datetime
    updated_at: datetime

    @property
    def tick(self) -> Tick:
        return Tick(self.logical_time, self.interval_start, self.interval_end)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> TickRecord:
        sid, logical, start, end, status, run_id, by, claimed_at, updated_at = row
        return cls(sid, from_stamp(logical), from_stamp(start), from_stamp(end), status, run_id, by, from_stamp(claimed_at), from_stamp(updated_at))


def check_lease(store: Store, lease: Lease | None, now: datetime) -> None:
    """Inside a transaction: raise :class:`LeaseLost` unless ``lease`` is still held (None: no
    lease needed, as for a backfill). On PostgreSQL the row is read ``FOR SHARE``, so a takeover
    (``FOR UPDATE``) waits until this transaction has committed."""
    if lease is None:
        return
    row = store.execute(
        f"SELECT holder, token, expires_at FROM schedule_lease WHERE name = ?{store.for_share}", (lease.name,)
    ).fetchone()
    if row is None or row[0] != lease.holder or row[1] != lease.token or from_stamp(row[2]) <= now:
        raise LeaseLost(f"the {lease.name!r} lease of {lease.holder} (token {lease.token}) is no longer held")


class TickLedger:
    """The ``schedule_ticks`` and ``schedule_state`` tables on one connection (created if missing)."""

    def __init__(self, connection: Any, *, clock: Clock = utc_now) -> None:
        self.store = Store(connection)
        self.clock = clock
        self.store.create(TABLES)

    # -- per schedule ---------------------------------------------------------------------------------

    def first_seen(self, schedule_id: str) -> datetime:
        """When a scheduler first saw this schedule (recorded now if never): catchup without a
        ``start`` reaches back no further (``Schedule.due(first_seen=...)``)."""
        with self.store.transaction() as store:
            store.execute(
                "INSERT INTO schedule_state (schedule_id, first_seen) VALUES (?, ?) ON CONFLICT (schedule_id) DO NOTHING",
                (schedule_id, stamp(self.clock())),
            )
            (seen,) = store.execute("SELECT first_seen FROM schedule_state WHERE schedule_id = ?", (schedule_id,)).fetchone()
        return from_stamp(seen)

    def set_paused(self, schedule_id: str, paused: bool) -> None:
        """``orchestrator schedules pause|resume``: a paused schedule records no ticks."""
        with self.store.transaction() as store:
            store.execute(
                "INSERT INTO schedule_state (schedule_id, first_seen, paused) VALUES (?, ?, ?) "
                "ON CONFLICT (schedule_id) DO UPDATE SET paused = excluded.paused",
                (schedule_id, stamp(self.clock()), int(paused)),
            )

    def paused(self, schedule_id: str) -> bool:
        rows = self.store.rows("SELECT paused FROM schedule_state WHERE schedule_id = ?", (schedule_id,))
        return bool(rows and rows[0][0])

    def last_tick(self, schedule_id: str) -> datetime | None:
        """The newest logical time recorded for the schedule, whatever its status: ``due()``
        starts after it."""
        rows = self.store.rows("SELECT MAX(logical_time) FROM schedule_ticks WHERE schedule_id = ?", (schedule_id,))
        return from_stamp(rows[0][0]) if rows and rows[0][0] else None

    # -- per tick -------------------------------------------------------------------------------------

    def claim(
        self, schedule_id: str, tick: Tick, *, by: str, run_id: str | None = None, lease: Lease | None = None, again: Collection[str] = (),
    ) -> bool:
        """Record ``tick`` as ``claimed`` by ``by``; True when this call recorded it, False when it
        was already recorded (by anyone). Start the run only after a True. Pass the ``run_id`` the
        run will have: whoever finds the tick :meth:`unstarted` after a crash then starts it under
        that same id, and a run that did get started before the crash is found by it, not run
        twice. ``again`` lists finished statuses a tick may be claimed anew from (a backfill re-runs
        ``failed`` ticks, and with ``--force`` ``succeeded`` ones too); a tick claimed or started is
        never reopened. Raises :class:`LeaseLost` when ``lease`` is no longer held."""
        reopen = sorted(set(again))
        unknown = [status for status in reopen if status not in FINISHED]
        if unknown:
            raise ValueError(f"only finished ticks can be claimed again, not {unknown[0]!r}")
        now = stamp(self.clock())
        key = (schedule_id, stamp(tick.logical_time))
        with self.store.transaction() as store:
            check_lease(store, lease, self.clock())
            inserted = store.execute(
                f"INSERT INTO schedule_ticks ({_TICK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (schedule_id, logical_time) DO NOTHING",
                (*key, stamp(tick.interval_start), stamp(tick.interval_end), CLAIMED, run_id, by, now, now),
            ).rowcount
            if inserted == 1 or not reopen:
                return bool(inserted == 1)
            marks = ", ".join("?" * len(reopen))
            reopened = store.execute(
                f"UPDATE schedule_ticks SET status = ?, run_id = ?, claimed_by = ?, claimed_at = ?, updated_at = ? "
                f"WHERE schedule_id = ? AND logical_time = ? AND status IN ({marks})",
                (CLAIMED, run_id, by, now, now, *key, *reopen),
            ).rowcount
            return bool(reopened == 1)

    def mark(self, schedule_id: str, logical_time: datetime, status: str, *, run_id: str | None = None, lease: Lease | None = None) -> None:
        """Move a recorded tick on: ``started`` (with its ``run_id``, once the run exists), then
        ``succeeded``/``failed``/``cancelled``; ``skipped`` when the overlap policy dropped it.
        A ``run_id`` of None keeps the one recorded."""
        if status not in STATUSES or status == CLAIMED:
            raise ValueError(f"a tick cannot be marked {status!r}")
        with self.store.transaction() as store:
            check_lease(store, lease, self.clock())
            changed = store.execute(
                "UPDATE schedule_ticks SET status = ?, run_id = COALESCE(?, run_id), updated_at = ? "
                "WHERE schedule_id = ? AND logical_time = ?",
                (status, run_id, stamp(self.clock()), schedule_id, stamp(logical_time)),
            ).rowcount
            if changed != 1:
                raise KeyError(f"no tick of {schedule_id!r} at {logical_time.isoformat()} is recorded")

    def get(self, schedule_id: str, logical_time: datetime) -> TickRecord | None:
        rows = self.store.rows(
            f"SELECT {_TICK_COLUMNS} FROM schedule_ticks WHERE schedule_id = ? AND logical_time = ?",
            (schedule_id, stamp(logical_time)),
        )
        return TickRecord.from_row(rows[0]) if rows else None

    def unstarted(self, schedule_id: str | None = None) -> list[TickRecord]:
        """Ticks recorded but never started (their scheduler died in between), oldest first: the
        next holder of the lease starts them."""
        where, params = ("status = ?", [CLAIMED]) if schedule_id is None else ("status = ? AND schedule_id = ?", [CLAIMED, schedule_id])
        rows = self.store.rows(f"SELECT {_TICK_COLUMNS} FROM schedule_ticks WHERE {where} ORDER BY logical_time, schedule_id", params)
        return [TickRecord.from_row(row) for row in rows]

    def in_flight(self) -> list[TickRecord]:
        """Ticks whose run was started and has not been recorded as ended, oldest first: after a
        restart the new holder finds each run in the history and resumes it, or records how it
        ended (the server stopped between the run's end and the ledger's update)."""
        rows = self.store.rows(f"SELECT {_TICK_COLUMNS} FROM schedule_ticks WHERE status = ? ORDER BY logical_time, schedule_id", [STARTED])
        return [TickRecord.from_row(row) for row in rows]

    def history(self, schedule_id: str, limit: int = 20) -> list[TickRecord]:
        """The newest ``limit`` ticks of a schedule, newest first (``orchestrator schedules``)."""
        rows = self.store.rows(
            f"SELECT {_TICK_COLUMNS} FROM schedule_ticks WHERE schedule_id = ? ORDER BY logical_time DESC LIMIT ?",
            (schedule_id, int(limit)),
        )
        return [TickRecord.from_row(row) for row in rows]


class SchedulerLease:
    """The right to fire schedules, held by one server (``holder``, unique per process, e.g.
    ``host:pid:random``) at a time among all servers on one store. Call :meth:`acquire` every
    heartbeat (well within ``ttl``): it takes a free or expired lease, renews one already held,
    and returns None while another server holds it."""

    def __init__(self, connection: Any, holder: str, *, ttl: timedelta, name: str = "scheduler", clock: Clock = utc_now) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a lease needs a positive time to live")
        self.store = Store(connection)
        self.holder, self.ttl, self.name, self.clock = holder, ttl, name, clock
        self.store.create(TABLES)
        with self.store.transaction() as store:
            store.execute(
                "INSERT INTO schedule_lease (name, holder, token, acquired_at, expires_at) VALUES (?, NULL, 0, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, stamp(self.clock()), stamp(self.clock())),
            )

    def acquire(self) -> Lease | None:
        """Take or renew the lease; None when another holder's lease has not expired yet."""
        with self.store.transaction() as store:
            holder, token, acquired, expires = store.execute(
                f"SELECT holder, token, acquired_at, expires_at FROM schedule_lease WHERE name = ?{store.for_update}",
                (self.name,),
            ).fetchone()
            now = self.clock()
            if holder == self.holder and from_stamp(expires) > now:
                new_token, since = token, acquired  # a renewal keeps the token
            elif holder is None or from_stamp(expires) <= now:
                new_token, since = token + 1, stamp(now)  # free, released or expired: take it over
            else:
                return None
            until = now + self.ttl
            store.execute(
                "UPDATE schedule_lease SET holder = ?, token = ?, acquired_at = ?, expires_at = ? WHERE name = ?",
                (self.holder, new_token, since, stamp(until), self.name),
            )
        return Lease(self.name, self.holder, int(new_token), until)

    def release(self) -> None:
        """Give the lease up at once (on SIGTERM), so another server need not wait for expiry."""
        with self.store.transaction() as store:
            store.execute(
                "UPDATE schedule_lease SET holder = NULL, expires_at = ? WHERE name = ? AND holder = ?",
                (stamp(self.clock()), self.name, self.holder),
            )

    def current(self) -> Lease | None:
        """Who holds the lease now, if anyone (for ``orchestrator schedules`` and the web UI)."""
        rows = self.store.rows("SELECT holder, token, expires_at FROM schedule_lease WHERE name = ?", (self.name,))
        if not rows or rows[0][0] is None or from_stamp(rows[0][2]) <= self.clock():
            return None
        return Lease(self.name, rows[0][0], int(rows[0][1]), from_stamp(rows[0][2]))
