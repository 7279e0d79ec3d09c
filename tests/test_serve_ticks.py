"""The tick ledger and the scheduler lease on a real SQLite file and a real PostgreSQL server:
in-process with a clock the test moves, and between real processes racing for the same ticks and
the same lease, one of them killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from orchestrator.config.schedule import Schedule, Tick
from orchestrator.serve.ticks import LeaseLost, SchedulerLease, TickLedger
from serve_helpers import Database, FakeClock, database, start_together

EVERY_MINUTE = Schedule.from_config({"every": "1m"})


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    return database(request.param, tmp_path, request)


def tick(minute: int) -> Tick:
    return EVERY_MINUTE.tick(datetime(2026, 3, 29, 1, minute, tzinfo=UTC))


# -- the ledger -------------------------------------------------------------------------------------


def test_a_tick_is_claimed_once_and_then_moves_through_its_statuses(db: Database) -> None:
    clock = FakeClock()
    ledger = TickLedger(db.connect(), clock=clock)
    other = TickLedger(db.connect(), clock=clock)
    assert ledger.claim("sales", tick(5), by="a", run_id="run-1")
    assert not ledger.claim("sales", tick(5), by="a")
    assert not other.claim("sales", tick(5), by="b")
    assert other.claim("customers", tick(5), by="b")  # the key is (schedule, logical time)
    record = other.get("sales", tick(5).logical_time)
    assert record is not None
    assert (record.status, record.run_id, record.claimed_by, record.tick) == ("claimed", "run-1", "a", tick(5))
    assert [r.schedule_id for r in ledger.unstarted()] == ["customers", "sales"]
    ledger.mark("sales", tick(5).logical_time, "started")
    ledger.mark("sales", tick(5).logical_time, "succeeded")
    record = ledger.get("sales", tick(5).logical_time)
    assert record is not None and (record.status, record.run_id) == ("succeeded", "run-1")
    assert [r.schedule_id for r in ledger.unstarted()] == ["customers"]
    with pytest.raises(KeyError):
        ledger.mark("sales", tick(6).logical_time, "started", run_id="run-2")
    with pytest.raises(ValueError, match="cannot be marked 'claimed'"):
        ledger.mark("sales", tick(5).logical_time, "claimed")


def test_finished_ticks_are_claimed_again_only_when_asked_and_running_ones_never(db: Database) -> None:
    ledger = TickLedger(db.connect(), clock=FakeClock())
    for minute, status in [(1, "succeeded"), (2, "failed"), (3, "started")]:
        ledger.claim("p", tick(minute), by="a")
        ledger.mark("p", tick(minute).logical_time, status, run_id=f"r{minute}")
    assert not ledger.claim("p", tick(2), by="backfill")
    assert ledger.claim("p", tick(2), by="backfill", again=["failed"])
    assert not ledger.claim("p", tick(1), by="backfill", again=["failed"])
    assert ledger.claim("p", tick(1), by="backfill", again=["failed", "succeeded"], run_id="r1-again")
    assert not ledger.claim("p", tick(3), by="backfill", again=["failed", "succeeded"])
    again = ledger.get("p", tick(1).logical_time)
    assert again is not None and (again.status, again.run_id, again.claimed_by) == ("claimed", "r1-again", "backfill")
    reopened = ledger.get("p", tick(2).logical_time)
    assert reopened is not None and reopened.run_id is None
    with pytest.raises(ValueError, match="only finished ticks"):
        ledger.claim("p", tick(3), by="x", again=["started"])


def test_last_tick_first_seen_pause_and_history(db: Database) -> None:
    clock = FakeClock()
    ledger = TickLedger(db.connect(), clock=clock)
    assert ledger.last_tick("p") is None
    seen = ledger.first_seen("p")
    clock.advance(hours=1)
    assert ledger.first_seen("p") == seen == datetime(2026, 3, 29, tzinfo=UTC)
    for minute in (3, 1, 2):
        ledger.claim("p", tick(minute), by="a")
    assert ledger.last_tick("p") == tick(3).logical_time
    assert [r.logical_time.minute for r in ledger.history("p", limit=2)] == [3, 2]
    assert not ledger.paused("p")
    ledger.set_paused("p", True)
    assert ledger.paused("p") and not ledger.paused("q")
    ledger.set_paused("p", False)
    assert not ledger.paused("p")
    assert ledger.first_seen("p") == seen


def test_naive_datetimes_never_reach_the_store(db: Database) -> None:
    ledger = TickLedger(db.connect(), clock=FakeClock())
    naive = Tick(datetime(2026, 1, 1), datetime(2026, 1, 1), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="no time zone"):
        ledger.claim("p", naive, by="a")


# -- the lease ----------------------------------------------------------------------------------------


def test_one_holder_at_a_time_renewal_expiry_and_takeover(db: Database) -> None:
    clock = FakeClock()
    a = SchedulerLease(db.connect(), "a", ttl=timedelta(seconds=10), clock=clock)
    b = SchedulerLease(db.connect(), "b", ttl=timedelta(seconds=10), clock=clock)
    first = a.acquire()
    assert first is not None and first.token == 1
    assert b.acquire() is None
    clock.advance(seconds=8)
    renewed = a.acquire()
    assert renewed is not None and renewed.token == 1 and renewed.expires_at == clock.now + timedelta(seconds=10)
    clock.advance(seconds=9)
    assert b.acquire() is None  # a's renewal still holds
    current = b.current()
    assert current is not None and current.holder == "a"
    clock.advance(seconds=1)  # a missed its heartbeat: expired
    taken = b.acquire()
    assert taken is not None and (taken.holder, taken.token) == ("b", 2)
    assert a.acquire() is None
    b.release()
    assert b.current() is None
    back = a.acquire()
    assert back is not None and back.token == 3


def test_a_holder_that_lost_its_lease_cannot_record_a_tick(db: Database) -> None:
    clock = FakeClock()
    ledger = TickLedger(db.connect(), clock=clock)
    a = SchedulerLease(db.connect(), "a", ttl=timedelta(seconds=5), clock=clock)
    b = SchedulerLease(db.connect(), "b", ttl=timedelta(seconds=5), clock=clock)
    held = a.acquire()
    assert held is not None
    assert ledger.claim("p", tick(1), by="a", lease=held)
    clock.advance(seconds=6)
    with pytest.raises(LeaseLost):
        ledger.claim("p", tick(2), by="a", lease=held)  # expired, even before anyone took over
    assert b.acquire() is not None
    with pytest.raises(LeaseLost):
        ledger.mark("p", tick(1).logical_time, "started", run_id="r", lease=held)
    assert ledger.get("p", tick(2).logical_time) is None
    record = ledger.get("p", tick(1).logical_time)
    assert record is not None and record.status == "claimed"


# -- between processes ----------------------------------------------------------------------------------

CLAIM_RACE = """
import json, time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from orchestrator.config.schedule import Schedule
from orchestrator.serve.ticks import TickLedger
ledger = TickLedger(connect())
schedule = Schedule.from_config({"every": "1m"})
ticks = [schedule.tick(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)) for n in range(int(ARGS[2]))]
if ARGS[1] == "down":
    ticks.reverse()
print("ready", flush=True)
sys.stdin.readline()
won = []
for t in ticks:
    if ledger.claim("race", t, by=ARGS[0]):
        won.append(t.logical_time.isoformat())
    time.sleep(0.002)  # a scheduler does some work between claims; SQLite's lock is not fair without a gap
print(json.dumps(won))
"""


def test_two_processes_racing_for_the_same_ticks_claim_each_exactly_once(db: Database) -> None:
    n = 300
    procs = [db.script(CLAIM_RACE, name, order, str(n)) for name, order in (("a", "up"), ("b", "down"))]
    start_together(procs)
    won = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        won.append(set(json.loads(out)))
    assert not won[0] & won[1], "a tick was claimed by both processes"
    assert len(won[0] | won[1]) == n, "a tick was claimed by neither"
    assert won[0] and won[1], "the processes did not race"
    recorded = TickLedger(db.connect()).history("race", limit=1000)
    assert {r.claimed_by for r in recorded} == {"a", "b"} and len(recorded) == n


LEASE_RACE = """
import json, time
from datetime import timedelta
from orchestrator.serve.ticks import SchedulerLease
lease = SchedulerLease(connect(), ARGS[0], ttl=timedelta(milliseconds=400))
held, log, renewals = None, [], 0
stop = time.time() + float(ARGS[1])
while time.time() < stop:
    got = lease.acquire()
    if got is not None:
        log.append([got.token, got.expires_at.timestamp()])
        renewals += 1
        if renewals % 8 == 0:
            time.sleep(0.6)  # miss heartbeats on purpose: the other process takes over
    time.sleep(0.05)
print(json.dumps(log))
"""


def test_two_processes_racing_for_the_lease_never_hold_it_at_the_same_time(db: Database) -> None:
    procs = {name: db.script(LEASE_RACE, name, "6") for name in ("a", "b")}
    terms: dict[int, tuple[str, float, float]] = {}  # token -> holder, first taken, last expiry
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        for token, expires in json.loads(out):
            holder, start, end = terms.get(token, (name, expires - 0.4, expires))
            assert holder == name, f"token {token} was held by {holder} and {name}"
            terms[token] = (name, min(start, expires - 0.4), max(end, expires))
    ordered = sorted(terms.items())
    assert {holder for _, (holder, _, _) in ordered} == {"a", "b"}, "the lease never changed hands"
    assert len(ordered) >= 3
    for (token, (_, _, end)), (later, (_, start, _)) in pairwise(ordered):
        assert start >= end - 1e-6, f"lease {later} was taken before lease {token} expired"


HOLDER = """
import time
from datetime import timedelta
from orchestrator.serve.ticks import SchedulerLease
lease = SchedulerLease(connect(), "doomed", ttl=timedelta(seconds=5))  # outlives a slow kill, reap and connect
assert lease.acquire() is not None
print("held", flush=True)
while True:
    time.sleep(0.2)
    lease.acquire()
"""

CLAIM_AND_DIE = """
import os, signal
from datetime import UTC, datetime
from orchestrator.config.schedule import Schedule
from orchestrator.serve.ticks import TickLedger
ledger = TickLedger(connect())
tick = Schedule.from_config({"every": "1m"}).tick(datetime(2026, 1, 1, 2, tzinfo=UTC))
assert ledger.claim("p", tick, by="doomed")
os.kill(os.getpid(), signal.SIGKILL)  # recorded, never started
"""


def test_a_holder_killed_with_sigkill_loses_the_lease_after_expiry(db: Database) -> None:
    proc = db.script(HOLDER)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        time.sleep(0.5)  # a few heartbeats
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        heir = SchedulerLease(db.connect(), "heir", ttl=timedelta(seconds=2))
        current = heir.current()  # the dead holder's last renewal: its expiry can no longer move
        assert current is not None and current.holder == "doomed"
        assert heir.acquire() is None
        taken: Any = None
        deadline = time.monotonic() + 60
        while taken is None and time.monotonic() < deadline:
            time.sleep(0.1)
            taken = heir.acquire()
        assert taken is not None and taken.holder == "heir" and taken.token == 2
        taken_at = taken.expires_at - heir.ttl
        assert taken_at >= current.expires_at, "taken over before the dead holder's lease expired"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_tick_recorded_by_a_process_killed_before_starting_it_is_found_unstarted(db: Database) -> None:
    proc = db.script(CLAIM_AND_DIE)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    ledger = TickLedger(db.connect())
    [left] = ledger.unstarted()
    assert (left.schedule_id, left.logical_time, left.status) == ("p", datetime(2026, 1, 1, 2, tzinfo=UTC), "claimed")
    assert not ledger.claim("p", left.tick, by="heir")  # the heir starts it; it does not record it again
