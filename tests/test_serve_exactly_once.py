"""Exactly once per tick, with the pieces put together as the serve loop will (lease, catchup, claim
before start, recovery of ticks recorded but not started): two real server processes on one store,
a schedule firing every second, and the servers killed with SIGKILL at random moments and started
again. No tick is claimed twice, none is lost, and every tick's run is started once.

A "run" here is a file created with O_EXCL under the run id chosen at the claim: the stand-in for
the history store's record of a run, which is what makes starting a recovered tick idempotent."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from orchestrator.config.schedule import Schedule
from orchestrator.serve.ticks import TickLedger
from serve_helpers import Database, FakeClock, database

SERVER = """
import os, random, signal, threading, time
from datetime import UTC, datetime, timedelta
from orchestrator.config.schedule import Schedule
from orchestrator.serve.ticks import LeaseLost, SchedulerLease, TickLedger

runs, start, name = ARGS
SID = "every-second"
stopping = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopping.set())
schedule = Schedule.from_config({"every": "1s", "start": start, "catchup": "all", "max_catchup": 1000})
ledger = TickLedger(connect())
keeper = SchedulerLease(connect(), f"{name}:{os.getpid()}", ttl=timedelta(milliseconds=800))
log = open(os.path.join(runs, "..", "events.log"), "a", buffering=1)

def start_run(run_id):
    try:
        os.close(os.open(os.path.join(runs, run_id), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        log.write(f"started {run_id} {os.getpid()}\\n")
    except FileExistsError:
        log.write(f"resumed {run_id} {os.getpid()}\\n")  # started before its scheduler died

def run(lease, logical_time, run_id):
    start_run(run_id)
    ledger.mark(SID, logical_time, "started", lease=lease)
    time.sleep(random.random() * 0.01)
    ledger.mark(SID, logical_time, "succeeded", lease=lease)

print("ready", flush=True)
while not stopping.is_set():
    lease = keeper.acquire()
    if lease is not None:
        try:
            for record in ledger.unstarted(SID) + ledger.in_flight():  # as serve recovers
                run(lease, record.logical_time, record.run_id)
            due = schedule.due(ledger.last_tick(SID), datetime.now(UTC), first_seen=ledger.first_seen(SID))
            for tick in due.ticks:
                run_id = f"{SID}@{tick.logical_time:%H%M%S}"
                if ledger.claim(SID, tick, by=name, run_id=run_id, lease=lease):
                    log.write(f"claimed {run_id} {os.getpid()}\\n")
                    time.sleep(random.random() * 0.02)  # between recording and starting
                    run(lease, tick.logical_time, run_id)
        except LeaseLost:
            pass
    time.sleep(0.05)
keeper.release()
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    return database(request.param, tmp_path, request)


def test_killed_and_restarted_servers_run_every_tick_exactly_once(db: Database, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    args = (str(runs), first.isoformat())
    rng = random.Random(11)

    def launch(name: str) -> subprocess.Popen[str]:
        proc = db.script(SERVER, *args, name)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        return proc

    servers = {name: launch(name) for name in ("a", "b")}
    try:
        # eight kills at random moments, however long a restart takes on a loaded machine
        for _ in range(8):
            time.sleep(rng.uniform(0.4, 1.2))
            name = rng.choice(["a", "b"])
            servers[name].send_signal(signal.SIGKILL)
            servers[name].wait(timeout=30)
            servers[name] = launch(name)
        for proc in servers.values():  # both die; the one that comes back catches up
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        time.sleep(1.5)
        last = launch("c")
        # the one that comes back runs until the window holds enough ticks, however slow the machine
        watcher = TickLedger(db.connect())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            newest = watcher.last_tick("every-second")
            settled = {r.status for r in watcher.history("every-second", limit=10_000)} == {"succeeded"}
            if newest is not None and newest >= first + timedelta(seconds=15) and settled:
                break
            time.sleep(0.2)
        last.send_signal(signal.SIGTERM)
        _, err = last.communicate(timeout=30)
        assert last.returncode == 0, err
    finally:
        for proc in servers.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    ledger = TickLedger(db.connect())
    newest = ledger.last_tick("every-second")
    assert newest is not None
    expected = {f"every-second@{first + timedelta(seconds=n):%H%M%S}" for n in range(int((newest - first).total_seconds()) + 1)}
    assert len(expected) >= 14

    events = [line.split() for line in (tmp_path / "events.log").read_text().splitlines()]
    claimed = Counter(run_id for kind, run_id, _ in events if kind == "claimed")
    assert [run_id for run_id, n in claimed.items() if n > 1] == [], "a tick was claimed twice"
    assert {path.name for path in runs.iterdir()} == expected, "a tick was lost (or one that was never due ran)"
    started = Counter(run_id for kind, run_id, _ in events if kind == "started")
    assert set(started) == expected and max(started.values()) == 1
    records = ledger.history("every-second", limit=10_000)
    assert len(records) == len(expected) and {r.status for r in records} == {"succeeded"}
    assert {r.run_id for r in records} == expected
    assert len({pid for _, _, pid in events}) >= 3, "the ticks were not spread over restarted servers"


@pytest.mark.parametrize(("catchup", "runs_after_outage"), [("all", 5), ("latest", 1), ("none", 0)])
def test_after_an_outage_the_catchup_policy_decides_which_missed_ticks_run(db: Database, catchup: str, runs_after_outage: int) -> None:
    clock = FakeClock(datetime(2026, 10, 25, 0, 0, 30, tzinfo=UTC))
    schedule = Schedule.from_config({"every": "1h", "catchup": catchup})

    def step(ledger: TickLedger) -> list[datetime]:
        due = schedule.due(ledger.last_tick("p"), clock(), first_seen=ledger.first_seen("p"))
        return [t.logical_time for t in due.ticks if ledger.claim("p", t, by="server", run_id=f"p@{t.logical_time:%H}")]

    ledger = TickLedger(db.connect(), clock=clock)
    fired: list[datetime] = []
    for _ in range(3 * 6):  # three hours up, a step every ten minutes
        clock.advance(minutes=10)
        fired += step(ledger)
    assert fired == [datetime(2026, 10, 25, h, tzinfo=UTC) for h in (1, 2, 3)]
    clock.advance(hours=5, minutes=10)  # down from 03:00:30 to 08:10:30: 04:00 ... 08:00 missed
    after = step(TickLedger(db.connect(), clock=clock))
    assert after == [datetime(2026, 10, 25, h, tzinfo=UTC) for h in range(9 - runs_after_outage, 9)]
    assert step(TickLedger(db.connect(), clock=clock)) == []  # and nothing twice
    clock.advance(minutes=50)
    assert step(ledger) == [datetime(2026, 10, 25, 9, tzinfo=UTC)]
