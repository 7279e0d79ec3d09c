"""The events of the runs a server started, fanned out to whoever follows them (the API's
server-sent event streams), without ever slowing a run down.

A run's event sink is called on the run's own thread; it keeps the message in the run's bounded
backlog (what a follower that comes later gets first) and, for each subscriber, only takes a lock
and appends to a bounded queue. A subscriber that does not keep up
loses what does not fit: its queue is never waited for, and the next thing it reads is a ``resync``
message saying how many messages it lost, so it can read the run again from the history. Each
subscriber is woken on its own event loop (``call_soon_threadsafe``), from any thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.events import Event, EventSink, Kind

__all__ = ["BACKLOG", "CLOSING", "QUEUE_SIZE", "Hub", "LiveRun", "Subscriber"]

#: the kind of the last message every follower gets when the server stops
CLOSING = "server_stopping"
_PIPELINE_KINDS = frozenset({Kind.PIPELINE_STARTED, Kind.PIPELINE_FINISHED, Kind.PIPELINE_SKIPPED, Kind.PIPELINE_REUSED})

#: messages a subscriber may fall behind by before it loses some
QUEUE_SIZE = 5000
#: messages of a live run kept for followers that come later (a page opened mid-run reads the run
#: itself; these only bridge the moments between its read and its stream, so a few are enough)
BACKLOG = 1000


@dataclass
class LiveRun:
    """A run this server started and that has not ended: its file, the pipelines it was asked for
    (empty: every pipeline, as a replay of dead letters is), and how each pipeline stands as its
    events said (ahead of the history, which commits in batches)."""

    run_id: str
    config: Path
    pipelines: tuple[str, ...]
    statuses: dict[str, str] = field(default_factory=dict)
    #: the run's messages so far (the latest :data:`BACKLOG`), which a new follower gets first
    backlog: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BACKLOG))
    #: how many messages fell out of the backlog
    dropped: int = 0


class Subscriber:
    """One follower: every run's messages, or one run's (``run_id``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, run_id: str | None, size: int = QUEUE_SIZE) -> None:
        self.loop, self.run_id, self.size = loop, run_id, size
        self.wake = asyncio.Event()
        self._items: deque[dict[str, Any]] = deque()
        self._lost = 0
        self._lock = threading.Lock()

    def offer(self, message: dict[str, Any], *, lost: int = 0) -> None:
        """Queue a message, from any thread; never waits (a full queue loses it). ``lost``: how
        many messages before it this follower will never get."""
        with self._lock:
            self._lost += lost
            if len(self._items) >= self.size:
                self._lost += 1
                return
            self._items.append(message)
            first = len(self._items) == 1
        if first:
            try:
                self.loop.call_soon_threadsafe(self.wake.set)
            except RuntimeError:  # the loop is closed: the stream is gone
                pass

    async def take(self, timeout: float) -> list[dict[str, Any]]:
        """What came since the last call (waiting up to ``timeout`` for something); a ``resync``
        message first when some were lost."""
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except TimeoutError:
            pass
        self.wake.clear()
        with self._lock:
            items, self._items = list(self._items), deque()
            lost, self._lost = self._lost, 0
        if lost:
            items.insert(0, {
                "kind": "resync", "run_id": self.run_id, "dropped": lost,
                "message": f"this stream fell behind and lost {lost} messages; read the run again (GET /api/runs/RUN_ID) and go on from here",
            })
        return items


class Hub:
    """The runs a server started and not yet ended, and the subscribers following them."""

    def __init__(self) -> None:
        self._runs: dict[str, LiveRun] = {}
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def expect(self, run_id: str, config: Path, pipelines: tuple[str, ...]) -> None:
        with self._lock:
            self._runs[run_id] = LiveRun(run_id, config, pipelines)

    def live(self, run_id: str) -> LiveRun | None:
        return self._runs.get(run_id)

    def sink(self, run_id: str) -> EventSink:
        """The sink a run's events go to (after the history): each event goes to the subscribers
        as the JSON ``--json`` prints, and a pipeline's start or end is noted for :meth:`live`."""

        def fan_out(event: Event) -> None:
            live = self._runs.get(run_id)
            if live is None:
                return
            if event.kind in _PIPELINE_KINDS and event.pipeline:
                live.statuses[event.pipeline] = "running" if event.kind is Kind.PIPELINE_STARTED else event.status or "succeeded"
            message = event.to_dict()
            with self._lock:  # a follower subscribing now gets it either from the backlog or as it goes out
                if len(live.backlog) == live.backlog.maxlen:
                    live.dropped += 1
                live.backlog.append(message)
                following = list(self._subscribers)
            self._send(following, message)

        return fan_out

    def publish(self, message: dict[str, Any]) -> None:
        with self._lock:
            following = list(self._subscribers)
        self._send(following, message)

    @staticmethod
    def _send(following: list[Subscriber], message: dict[str, Any]) -> None:
        for subscriber in following:
            if subscriber.run_id is None or subscriber.run_id == message.get("run_id"):
                subscriber.offer(message)

    def ended(self, run_id: str, status: str) -> None:
        """The run's thread is done: its last message (``end``, with how it ended) goes out."""
        with self._lock:
            self._runs.pop(run_id, None)
        self.publish({"kind": "end", "run_id": run_id, "status": status})

    def close(self) -> None:
        """The server stops: every follower gets a last message, and its stream ends."""
        for subscriber in list(self._subscribers):
            subscriber.offer({"kind": CLOSING, "run_id": subscriber.run_id, "message": "the server is stopping"})

    def subscribe(self, run_id: str | None) -> Subscriber:
        """A new follower of one run (which first gets what the run said so far) or of every run."""
        subscriber = Subscriber(asyncio.get_running_loop(), run_id)
        with self._lock:
            live = self._runs.get(run_id) if run_id is not None else None
            if live is not None:
                lost = live.dropped
                for message in live.backlog:
                    subscriber.offer(message, lost=lost)
                    lost = 0
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)
