"""Batches as the engine moves them between steps: how many rows one holds, the bounded stream
from a pipeline's producer to each of its loads, and a load's in-memory input given afresh to
every attempt. (How batches flow, batch by batch, is :mod:`orchestrator.engine.streaming`.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream

from orchestrator.config.model import StepSpec
from orchestrator.engine.usage import Meter, metered_call
from orchestrator.errors import OrchestratorError, StepError

#: the end of a stream of batches
END = object()


class UpstreamFailed(OrchestratorError):
    """Raised into a load step whose input stream stopped because an earlier step failed, or
    (``interrupted``) because the run was interrupted: then the load is not failed, it ends with
    its pipeline as interrupted."""

    def __init__(self, message: str, *, interrupted: bool = False) -> None:
        super().__init__(message)
        self.interrupted = interrupted


class Upstream:
    """Shared between the producer of a stream and its loads: the error that stopped it, if any."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: BaseException | None = None


class StreamFeed:
    """A load step's view of the stream: iterable from a worker thread (sync loads) or on the
    loop (async loads). When the producer failed, the end of the stream raises
    :class:`UpstreamFailed` instead, so the load rolls back rather than finishing a partial input."""

    def __init__(self, stream: MemoryObjectReceiveStream[Any], upstream: Upstream) -> None:
        self.stream = stream
        self.upstream = upstream
        #: the loop, for a load iterating from a thread that is not anyio's (one with a timeout)
        self.token = anyio.lowlevel.current_token()

    async def _next(self) -> Any:
        try:
            return await self.stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            error = self.upstream.error
            if error is not None:
                if not isinstance(error, Exception):  # a cancellation: the run was interrupted
                    raise UpstreamFailed("interrupted", interrupted=True) from None
                raise UpstreamFailed("stopped: an earlier step of the pipeline failed") from None
            return END

    def close(self) -> None:
        self.stream.close()

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        batch = anyio.from_thread.run(self._next, token=self.token)
        if batch is END:
            raise StopIteration
        return batch

    def __aiter__(self) -> StreamFeed:
        return self

    async def __anext__(self) -> Any:
        batch = await self._next()
        if batch is END:
            raise StopAsyncIteration
        return batch


class AsyncList:
    """An async iterator over an in-memory list of batches, for async loads."""

    def __init__(self, batches: list[Any]) -> None:
        self.batches = batches
        self._items = iter(batches)

    def __aiter__(self) -> AsyncList:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._items)
        except StopIteration:
            raise StopAsyncIteration from None


#: whole outputs of at most this many rows are checkpointed without leaving the event loop
TINY_ROWS = 256


def is_tiny(data: Any) -> bool:
    """Small enough to write on the event loop: a thread hand-off would cost more."""
    return isinstance(data, (list, tuple, dict)) and len(data) <= TINY_ROWS


def is_stream(value: Any) -> bool:
    return hasattr(value, "__anext__") or (hasattr(value, "__next__") and not isinstance(value, (str, bytes)))


async def collect(stream: Any, meter: Meter | None = None) -> Any:
    """Everything a stream yields: one list when every batch is a list, else the list of batches.
    ``meter``: where the CPU time of pulling a sync stream (in a worker thread) is counted."""
    batches: list[Any] = []
    if hasattr(stream, "__anext__"):
        async for batch in stream:
            batches.append(batch)
    else:
        pull: Callable[[], list[Any]] = partial(list, stream)
        batches = await anyio.to_thread.run_sync(pull if meter is None else metered_call(pull, meter))
    if all(isinstance(b, list) for b in batches):
        return [row for batch in batches for row in batch]
    return batches


def plus(total: int | None, batch: Any) -> int | None:
    """A running count of rows plus a batch's; unknown (None) once either is."""
    counted = row_count(batch)
    return None if counted is None or total is None else total + counted


def row_count(data: Any) -> int | None:
    """Rows in a batch: its length for a list or tuple, ``num_rows`` for columnar tables."""
    if data is None:
        return 0
    if isinstance(data, (list, tuple)):
        return len(data)
    rows = getattr(data, "num_rows", None)
    return rows if isinstance(rows, int) else None


def report_rows(report: Any, step: StepSpec) -> int | None:
    if report is None:
        return None
    if isinstance(report, bool) or not isinstance(report, (int, dict)):
        raise StepError(
            f"returned {type(report).__name__}; a {step.phase} step returns the number of rows, "
            "a mapping with a 'rows' key, or None"
        )
    if isinstance(report, dict):
        rows = report.get("rows")
        return rows if isinstance(rows, int) else None
    return report


def fresh_input(feed: Any) -> Any:
    """A load's input for one attempt: a fresh iterator over in-memory batches each time."""
    if isinstance(feed, list):
        return list(feed)
    if isinstance(feed, AsyncList):
        return AsyncList(feed.batches)
    return feed
