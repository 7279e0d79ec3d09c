"""Live runs as server-sent events: ``GET /api/runs/{run_id}/events`` (one run) and
``GET /api/events`` (every run of the served files).

Each message is one ``data:`` line of JSON: an event as ``Event.to_dict()`` gives it (``--json``'s
form), and, when a run ends, ``{"kind": "end", "run_id": ..., "status": ...}``. A follower reads
the run itself (``GET /api/runs/{run_id}``); the stream brings what changes, so what a run said
before the stream opened is replayed only a little: a run that already ended gets ``hello`` and
``end`` with its status at once, and a running one at most the last
:data:`~orchestrator.serve.fanout.BACKLOG` messages (a ``resync`` first when there were more). A run this server
started is followed in-process: its events come from its thread through the server's
:class:`~orchestrator.serve.fanout.Hub`, as they happen. A run started elsewhere (``orchestrator
run`` on the same state store, another server) is followed by polling its history every
:data:`POLL` seconds: the changes are sent as the events that made them (``pipeline_started``,
``step_finished``, ``log``, ...) with ``"polled": true``. A follower that falls behind gets a
``resync`` message instead of what it lost, and never slows the run. A comment line goes out every
:data:`KEEPALIVE` seconds so that proxies keep the connection open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from orchestrator.serve.api.responses import dumps, redacted
from orchestrator.serve.fanout import BACKLOG, CLOSING

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from orchestrator.runstate.history.sql import SQLState
    from orchestrator.serve.api.served import Catalog

__all__ = ["KEEPALIVE", "POLL", "all_events", "run_events"]

#: seconds between two reads of the history of a run started elsewhere
POLL = 1.0
#: seconds between two keep-alive comments
KEEPALIVE = 10.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_ENDED = ("succeeded", "failed", "interrupted", "cancelled")


async def run_events(catalog: Catalog, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import StreamingResponse

    run_id = str(request.path_params["run_id"])
    hub = catalog.server.hub
    subscriber = hub.subscribe(run_id)  # before looking: nothing it says from now on is missed
    if hub.live(run_id) is None:
        hub.unsubscribe(subscriber)
        history, _file_id, _served, run = await run_in_threadpool(catalog.find_run, run_id)  # a 404 when unknown
        if run["status"] in _ENDED:  # nothing will change: its history is what the page reads
            return StreamingResponse(_ended(catalog, run_id, str(run["status"])), media_type="text/event-stream", headers=HEADERS)
        return StreamingResponse(_polled(catalog, history, run_id), media_type="text/event-stream", headers=HEADERS)

    async def stream() -> AsyncIterator[str]:
        try:
            yield _message(catalog, {"kind": "hello", "run_id": run_id, "live": True})
            while True:
                messages = await subscriber.take(KEEPALIVE)
                if not messages:
                    yield ": keep-alive\n\n"
                for message in messages:
                    yield _message(catalog, message)
                    if message["kind"] in ("end", CLOSING):
                        return
        finally:
            hub.unsubscribe(subscriber)

    return StreamingResponse(stream(), media_type="text/event-stream", headers=HEADERS)


async def _ended(catalog: Catalog, run_id: str, status: str) -> AsyncIterator[str]:
    """A run that already ended: said at once, without its history (thousands of messages for a big run)."""
    yield _message(catalog, {"kind": "hello", "run_id": run_id, "live": False})
    yield _message(catalog, {"kind": "end", "run_id": run_id, "status": status})


async def _polled(catalog: Catalog, history: SQLState, run_id: str) -> AsyncIterator[str]:
    """A run started elsewhere, followed through its history until it ends."""
    import anyio
    from starlette.concurrency import run_in_threadpool

    follower = Follower(history, run_id)
    yield _message(catalog, {"kind": "hello", "run_id": run_id, "live": False})
    quiet = 0.0
    while True:
        if catalog.server.stopping.is_set():
            yield _message(catalog, {"kind": CLOSING, "run_id": run_id, "message": "the server is stopping"})
            return
        messages, ended = await run_in_threadpool(follower.poll)
        if len(messages) > BACKLOG:  # the first look at a big run: its latest changes, and a resync
            lost = len(messages) - BACKLOG
            messages = [{"kind": "resync", "run_id": run_id, "dropped": lost,
                         "message": f"{lost} earlier messages were left out: read the run again"}, *messages[lost:]]
        for message in messages:
            yield _message(catalog, message)
        if ended:
            return
        quiet = 0.0 if messages else quiet + POLL
        if quiet >= KEEPALIVE:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await anyio.sleep(POLL)


async def all_events(catalog: Catalog, request: Request) -> Response:
    """Every event of the runs started here, and the start and end of runs started elsewhere."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import StreamingResponse

    hub = catalog.server.hub
    subscriber = hub.subscribe(None)
    watcher = RunsWatcher(catalog)

    async def stream() -> AsyncIterator[str]:
        try:
            yield _message(catalog, {"kind": "hello", "live": True})
            await run_in_threadpool(watcher.poll)
            waited = 0.0
            while True:
                messages = await subscriber.take(POLL)
                for message in messages:
                    watcher.ours.add(str(message.get("run_id")))
                    yield _message(catalog, message)
                    if message["kind"] == CLOSING:
                        return
                found = await run_in_threadpool(watcher.poll)
                for message in found:
                    yield _message(catalog, message)
                waited = 0.0 if messages or found else waited + POLL
                if waited >= KEEPALIVE:
                    waited = 0.0
                    yield ": keep-alive\n\n"
        finally:
            hub.unsubscribe(subscriber)

    return StreamingResponse(stream(), media_type="text/event-stream", headers=HEADERS)


def _message(catalog: Catalog, message: dict[str, Any]) -> str:
    return f"data: {dumps(redacted(message, catalog.redactor()))}\n\n"


class Follower:
    """What changed in one run's history since the last look, as the events that changed it."""

    def __init__(self, history: SQLState, run_id: str) -> None:
        self.history, self.run_id = history, run_id
        self.pipelines: dict[str, str] = {}
        self.steps: dict[tuple[str, str, int], str] = {}
        self.seq = 0

    def poll(self) -> tuple[list[dict[str, Any]], bool]:
        run_id, found = self.run_id, []
        run = self.history.run(run_id)
        for row in self.history.pipelines(run_id):
            before, now = self.pipelines.get(row["pipeline"]), row["status"]
            if before == now:
                continue
            self.pipelines[row["pipeline"]] = now
            kind = "pipeline_started" if now == "running" else "pipeline_skipped" if now == "skipped" else "pipeline_finished"
            found.append(_event(kind, run_id, pipeline=row["pipeline"], status=now, elapsed=row["elapsed"], error=row["error"]))
        for row in self.history.steps(run_id):
            key = (row["pipeline"], row["step"], row["attempt"])
            before, now = self.steps.get(key), row["status"]
            if before == now:
                continue
            self.steps[key] = now
            kind = {"running": "step_started", "waiting": "step_retry", "succeeded": "step_finished"}.get(now, "step_failed")
            found.append(_event(kind, run_id, pipeline=row["pipeline"], phase=row["phase"], step=row["step"], plugin=row["plugin"],
                                status=now, rows=row["rows"], elapsed=row["elapsed"], error=row["error"], attempt=row["attempt"]))
        for line in self.history.logs(run_id, after=self.seq):
            self.seq = line["seq"]
            found.append(_event("log", run_id, pipeline=line["pipeline"], step=line["step"], level=line["level"],
                                message=line["message"], time=line["time"]))
        status = None if run is None else run["status"]
        if status in _ENDED:
            found.append(_event("run_finished", run_id, status=status, elapsed=run["elapsed"]))  # type: ignore[index]
            found.append({"kind": "end", "run_id": run_id, "status": status})
        return found, status in _ENDED


class RunsWatcher:
    """Runs of the served files started elsewhere: when one starts and when it ends."""

    #: the newest runs looked at on each poll
    NEWEST = 20

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.known: dict[str, str] | None = None
        #: runs the hub told about: their own events already went out
        self.ours: set[str] = set()

    def poll(self) -> list[dict[str, Any]]:
        statuses: dict[str, str] = {}
        for history, configs in self.catalog.histories():
            for row in history.run_page(configs, self.NEWEST):
                statuses[row["run_id"]] = row["status"]
        known, self.known = self.known, statuses
        if known is None:
            return []
        found: list[dict[str, Any]] = []
        for run_id, status in statuses.items():
            if run_id in self.ours or self.catalog.server.hub.live(run_id) is not None or known.get(run_id) == status:
                continue
            if run_id not in known:
                found.append(_event("run_started", run_id))
            if status in _ENDED:
                found.append(_event("run_finished", run_id, status=status))
                found.append({"kind": "end", "run_id": run_id, "status": status})
        return found


def _event(kind: str, run_id: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "run_id": run_id, **{k: v for k, v in fields.items() if v is not None}, "polled": True}
