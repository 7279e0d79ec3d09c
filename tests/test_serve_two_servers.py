"""Two real ``orchestrator serve`` processes on one state store (a SQLite file, and PostgreSQL),
serving the same file with a schedule every second: one fires at a time (the lease), no tick runs
twice, none is lost; when the holder is killed with SIGKILL the other takes over once the lease has
expired and catches up."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from orchestrator.serve.store import from_stamp
from serve_helpers import Database, database
from serve_process import ROWS, Served, ran_before_the_stop, rows, state, ticking, wait_for

TTL = 3.0

if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("SIGKILL")


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "rows.py").write_text(ROWS)
    yield tmp_path


def query(store: Database, sql: str) -> list[tuple[Any, ...]]:
    connection = store.connect()
    try:
        return [tuple(row) for row in connection.execute(sql).fetchall()]
    finally:
        connection.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_servers_fire_each_tick_once_and_the_survivor_takes_over_a_killed_holder(
    folder: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    config = ticking(extra=", overlap: queue, max_queue: 100", sleep=0.2)
    if kind == "sqlite":
        store = Database("sqlite", str(state(folder)))
    else:
        store = database(kind, folder, request)
        config = f"state: {store.target!r}\n{config}"
    (folder / "ticks.yaml").write_text(config)
    options = ("--lease-ttl", str(TTL))
    first = Served(folder, "ticks.yaml", options=options)
    wait_for(lambda: "holding the scheduler lease" in first.text(), 30, first.text)
    second = Served(folder, "ticks.yaml", options=options)
    table = folder / "out" / "ticks.db"
    wait_for(lambda: "another server holds the scheduler lease" in second.text(), 30, second.text)
    wait_for(lambda: len(rows(table, "SELECT * FROM ticks")) >= 5, 60, first.text)
    assert first.get("/api/health")["lease"] is True and second.get("/api/health")["lease"] is False
    assert "started" not in second.text(), "the server without the lease started a run"
    holder = first.get("/api/health")["holder"]
    ((held_by, expires),) = query(store, "SELECT holder, expires_at FROM schedule_lease")
    assert held_by == holder  # its lease runs at least until then: renewals only push that later

    first.process.kill()  # SIGKILL: the lease is not released, it has to expire
    first.process.wait(timeout=30)
    first.handle.close()
    wait_for(lambda: "holding the scheduler lease" in second.text(), 60, second.text)
    took_over = datetime.now(UTC)
    ((heir, acquired),) = query(store, "SELECT holder, acquired_at FROM schedule_lease")
    assert heir != holder and from_stamp(acquired) >= from_stamp(expires), "the lease was taken before it could have expired"

    def caught_up() -> bool:
        times = [datetime.fromisoformat(t) for (t,) in rows(table, "SELECT logical_time FROM ticks")]
        open_ticks = query(store, "SELECT COUNT(*) FROM schedule_ticks WHERE status != 'succeeded'")[0][0]
        return bool(times) and max(times) >= took_over + timedelta(seconds=2) and open_ticks == 0

    wait_for(caught_up, 60, lambda: second.text()[-3000:])
    assert second.stop() == 0, second.text()

    times = [datetime.fromisoformat(t) for (t,) in rows(table, "SELECT logical_time FROM ticks ORDER BY logical_time")]
    assert len(times) == len(set(times)), "a tick ran twice"
    assert all(b - a == timedelta(seconds=1) for a, b in pairwise(times)), "a tick was lost"
    ledger = ran_before_the_stop(query(store, "SELECT logical_time, claimed_by, status FROM schedule_ticks ORDER BY logical_time"), status=2)
    assert [datetime.fromisoformat(t) for t, _b, _s in ledger] == times
    claimers = [by for _t, by, _s in ledger]
    handed_over = claimers.index(next(by for by in claimers if by != holder))
    assert set(claimers[:handed_over]) == {holder} and holder not in claimers[handed_over:], (
        "the two servers fired in turns: only one may fire at a time"
    )
    missed = [datetime.fromisoformat(t) for t, by, _s in ledger if by != holder and datetime.fromisoformat(t) < took_over]
    assert missed, "the ticks due while the lease was expiring were not caught up"
