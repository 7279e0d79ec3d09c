"""The client side of event relaying: published worker events handed to the run's event sink.

A task's result and its events travel separately (the result from the worker, the events through
the scheduler), so the result can arrive first. :class:`EventRelay` counts what arrived per
attempt and lets the executor wait for the rest, so ``pipeline_finished`` is shown before the
engine moves on, and ``--json`` ends with ``run_finished`` as on every other executor.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

import anyio

from orchestrator.events import EventSink

from orchestrator_plugin_dask.task import Relay, event_from

log = logging.getLogger(__name__)

#: How long to wait for a finished pipeline's last events before reporting it anyway.
SETTLE_SECONDS = 30.0


class EventRelay:
    """Routes published events to the sink of the job they belong to."""

    def __init__(self) -> None:
        self.topic = f"orchestrator-events-{uuid.uuid4().hex}"
        self._sinks: dict[str, EventSink] = {}
        self._seen: Counter[str] = Counter()
        self._waiting: dict[str, tuple[int, anyio.Event]] = {}

    def open(self, sink: EventSink) -> Relay:
        """A relay for one job whose events go to ``sink``."""
        token = uuid.uuid4().hex
        self._sinks[token] = sink
        return Relay(self.topic, token)

    def close(self, relay: Relay) -> None:
        self._sinks.pop(relay.job, None)

    def deliver(self, published: tuple[float, Any]) -> None:
        """The subscription's handler: ``published`` is Dask's ``(timestamp, message)``."""
        _, message = published
        sink = self._sinks.get(message["job"])
        if sink is None:  # a straggler of a job already reported
            return
        attempt = message["attempt"]
        self._seen[attempt] += 1
        sink(event_from(message))
        waiting = self._waiting.get(attempt)
        if waiting is not None and self._seen[attempt] >= waiting[0]:
            waiting[1].set()

    async def settle(self, attempt: str, count: int, timeout: float = SETTLE_SECONDS) -> None:
        """Wait until ``count`` events of ``attempt`` arrived (or ``timeout`` passed)."""
        if self._seen[attempt] < count:
            arrived = anyio.Event()
            self._waiting[attempt] = (count, arrived)
            with anyio.move_on_after(timeout) as scope:
                await arrived.wait()
            del self._waiting[attempt]
            if scope.cancelled_caught:
                log.warning("%d of %d events of a pipeline did not arrive within %.0f s", count - self._seen[attempt], count, timeout)
        self._seen.pop(attempt, None)
