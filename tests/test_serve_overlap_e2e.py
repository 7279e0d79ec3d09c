"""Overlap policies end to end: the real ``orchestrator serve`` with runs longer than their
schedule's cadence. ``cancel`` interrupts the running run (left resumable, its tick recorded as
cancelled) and runs the new tick; ``queue`` is bounded, and a tick that finds it full is reported
and recorded as skipped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from serve_process import ROWS, Served, rows, state, ticking, wait_for


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "rows.py").write_text(ROWS)
    yield tmp_path


def test_cancel_interrupts_the_running_run_and_runs_the_new_tick(folder: Path) -> None:
    # each run outlasts its cadence fivefold: a loaded machine's late tick still finds it running
    (folder / "slow.yaml").write_text(ticking(every="2s", catchup="none", sleep=10, extra=", overlap: cancel"))
    server = Served(folder, "slow.yaml")
    cancelled = "SELECT logical_time, run_id FROM schedule_ticks WHERE status = 'cancelled' ORDER BY logical_time"
    wait_for(lambda: len(rows(state(folder), cancelled)) >= 2, 60, server.text)
    assert server.stop() == 0, server.text()

    ledger = rows(state(folder), "SELECT logical_time, status, run_id FROM schedule_ticks ORDER BY logical_time")
    history = dict(rows(state(folder), "SELECT run_id, status FROM runs"))
    for position, (logical_time, status, run_id) in enumerate(ledger[:-1]):
        assert status == "cancelled", f"tick {logical_time} was not cancelled by the next one: {ledger}"
        assert history[run_id] == "interrupted", "a cancelled run is left resumable, as an interrupted one"
        assert f"run {run_id} cancelled" in server.text()
        following = ledger[position + 1][2]
        assert re.search(rf"run {following} started", server.text()), "the tick that cancelled it did not run"
        assert server.text().index(f"run {run_id} cancelled") < server.text().index(f"run {following} started"), (
            "the new tick's run started before the cancelled one had ended"
        )
    loaded = {datetime.fromisoformat(t) for (t,) in rows(folder / "out" / "ticks.db", "SELECT logical_time FROM ticks")}
    assert not loaded & {datetime.fromisoformat(t) for t, _r in rows(state(folder), cancelled)}, "a cancelled run loaded its rows"


def test_a_full_queue_is_reported_and_its_tick_recorded_as_skipped(folder: Path) -> None:
    (folder / "slow.yaml").write_text(ticking(every="1s", catchup="none", sleep=3, extra=", overlap: queue, max_queue: 1"))
    server = Served(folder, "slow.yaml", grace=10)
    skipped = "SELECT logical_time FROM schedule_ticks WHERE status = 'skipped'"
    in_order = "SELECT status FROM schedule_ticks ORDER BY logical_time"

    def queued_one_ran() -> bool:
        statuses = [status for (status,) in rows(state(folder), in_order)]
        return len(rows(state(folder), skipped)) >= 2 and statuses[:2] == ["succeeded", "succeeded"]

    wait_for(queued_one_ran, 60, server.text)
    assert server.stop() == 0, server.text()

    assert "and the queue is full (1 waiting)" in server.text()
    for (logical_time,) in rows(state(folder), skipped):
        assert f"tick {datetime.fromisoformat(logical_time).isoformat()} skipped" in server.text()
    statuses = [status for (status,) in rows(state(folder), in_order)]
    assert statuses[1:3] == ["succeeded", "skipped"], "the tick after the first waited and ran, the next found the queue full"
    assert "cancelled" not in statuses and "cancelled" not in server.text(), "the queue never cancels a run"
