"""Overlap policies: what a tick does while the previous run still runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from orchestrator.serve.overlap import CANCEL, QUEUE, SKIP, START, OverlapGate
from orchestrator.config.schedule import Schedule, Tick

EVERY = Schedule.from_config({"every": "1m"})


def tick(n: int) -> Tick:
    return EVERY.tick(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n))


def test_an_idle_schedule_starts_under_every_policy() -> None:
    for policy in ("skip", "queue", "cancel", "allow"):
        assert OverlapGate(policy).offer(tick(1)).action == START


def test_skip_records_the_tick_as_skipped_while_a_run_runs() -> None:
    gate = OverlapGate("skip")
    gate.started("r1")
    decision = gate.offer(tick(2))
    assert (decision.action, decision.reason) == (SKIP, "the run r1 is still running")
    assert gate.finished("r1") is None
    assert gate.offer(tick(3)).action == START


def test_allow_runs_side_by_side() -> None:
    gate = OverlapGate("allow")
    gate.started("r1")
    assert gate.offer(tick(2)).action == START


def test_cancel_names_the_runs_to_stop() -> None:
    gate = OverlapGate("cancel")
    gate.started("r1")
    decision = gate.offer(tick(2))
    assert (decision.action, decision.cancel) == (CANCEL, ("r1",))


def test_queue_is_bounded_reported_when_full_and_drained_in_order() -> None:
    gate = OverlapGate("queue", max_queue=2)
    gate.started("r1")
    assert [gate.offer(tick(n)).action for n in (2, 3)] == [QUEUE, QUEUE]
    full = gate.offer(tick(4))
    assert (full.action, full.reason) == (SKIP, "the run r1 is still running and the queue is full (2 waiting)")
    assert gate.finished("r1") == tick(2)
    gate.started("r2")
    assert gate.offer(tick(5)).action == QUEUE  # room again
    assert gate.finished("r2") == tick(3)
    gate.started("r3")
    assert gate.finished("r3") == tick(5)
    gate.started("r5")
    assert gate.finished("r5") is None
    assert gate.offer(tick(6)).action == START


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap: 'kill'"):
        OverlapGate("kill")
    with pytest.raises(ValueError, match="max_queue"):
        OverlapGate("queue", max_queue=0)
