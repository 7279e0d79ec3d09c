"""What a tick does while the previous run of its schedule is still running (``overlap:``).

Pure bookkeeping, one gate per schedule: the serve loop offers each claimed tick and follows the
decision, and tells the gate when a run starts and ends. A queued tick is already recorded in the
ledger as ``claimed``, so a queue lost with the process is rebuilt from ``TickLedger.unstarted()``
after a restart, in logical-time order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from orchestrator.config.schedule import DEFAULT_MAX_QUEUE, OVERLAP, Tick

__all__ = ["CANCEL", "QUEUE", "SKIP", "START", "Decision", "OverlapGate"]

START, SKIP, QUEUE, CANCEL = "start", "skip", "queue", "cancel"


@dataclass(frozen=True, slots=True)
class Decision:
    """``start`` the tick's run now; ``skip`` it (mark it skipped and report ``reason``); ``queue``
    it (the gate hands it back from :meth:`OverlapGate.finished`); or ``cancel`` the runs in
    ``cancel`` and start it once they have ended."""

    action: str
    reason: str = ""
    cancel: tuple[str, ...] = ()


class OverlapGate:
    """The runs of one schedule that are running, and the ticks waiting under ``queue``."""

    def __init__(self, policy: str, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        if policy not in OVERLAP:
            raise ValueError(f"overlap: {policy!r} is not one of {', '.join(OVERLAP)}")
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.policy, self.max_queue = policy, max_queue
        self.running: list[str] = []
        self.queued: deque[Tick] = deque()

    def offer(self, tick: Tick) -> Decision:
        if self.policy == "allow" or (not self.running and not self.queued):
            return Decision(START)
        busy = f"the run {self.running[0]} is still running" if self.running else "earlier ticks are waiting"
        if self.policy == "skip":
            return Decision(SKIP, busy)
        if self.policy == "cancel":
            return Decision(CANCEL, busy, tuple(self.running))
        if len(self.queued) >= self.max_queue:
            return Decision(SKIP, f"{busy} and the queue is full ({self.max_queue} waiting)")
        self.queued.append(tick)
        return Decision(QUEUE, busy)

    def started(self, run_id: str) -> None:
        self.running.append(run_id)

    def finished(self, run_id: str) -> Tick | None:
        """Forget an ended run; the next queued tick, if any, which the loop starts at once (and
        reports with :meth:`started`) before it offers another tick."""
        if run_id in self.running:
            self.running.remove(run_id)
        if self.queued and not self.running:
            return self.queued.popleft()
        return None
