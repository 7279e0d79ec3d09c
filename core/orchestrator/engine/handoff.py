"""Rows handed from one pipeline to another (``extract: {from: SOURCE}``) while a run goes on.

The source gets one more load step, ``pipeline.handoff``, and the taking pipeline's extract is one
step, ``pipeline.rows`` (both added by :mod:`orchestrator.engine.fanout`, both in
:mod:`orchestrator.builtin.handoff`). The handoff step always writes the rows, with their types,
to the run's handoff file: what a resume, a pipeline in another worker process, or a later
``--only`` run of the taker reads. Besides, it offers each batch to the outlet registered for the
source in this process, if there is one, and the ``pipeline.rows`` step of a taker reads what its
inlet got instead of the file. Who registers what depends on where the pipelines run:

- ``local``: the engine registers a :class:`Streams` outlet for a source whose takers run in the
  same event loop (:func:`streaming_takers` says which). Each taker has a bounded buffer of its
  own and starts as soon as the source's handoff step starts, so batches go from the source's
  transforms to the taker's loads as they come, and memory stays flat: the source waits for its
  slowest taker (back-pressure).
- ``dask``: the task of a source collects its batches (:func:`collecting`) and returns them with
  its result; the task of a taker is given that result as an argument, so Dask moves the rows
  from worker to worker, never through the client, and registers them as the taker's inlet
  (:func:`given`). Only the items of a ``foreach: {from: ...}`` come to the client, which makes
  the instances (see :meth:`orchestrator.executors.Executor.handed_over`).
- ``process`` and any other executor: nothing is registered; the file on this machine is the way.

The registry is per process and keyed by run id and pipeline names, so runs going on at the same
time in one process (``orchestrator serve``) never see each other's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from orchestrator.errors import StepError

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from orchestrator.config.model import PipelineSpec, Plan

#: the plugins of the two steps the engine adds
HANDOFF_PLUGIN = "pipeline.handoff"
ROWS_PLUGIN = "pipeline.rows"
#: batches a live taker may be behind its source before the source waits for it
TAKER_BUFFER = 4


class Outlet(Protocol):
    """Where a source's handoff step offers its batches in this process."""

    def open(self) -> None:
        """The handoff step started: batches follow."""

    async def send(self, batch: Any) -> None:
        """One batch, in order."""

    def close(self, error: str | None) -> None:
        """The handoff step ended: every batch was sent (``error`` None), or it failed with ``error``."""


_outlets: dict[tuple[str, str], Outlet] = {}
_given: dict[tuple[str, str, str], Sequence[Any]] = {}


def outlet(run_id: str, source: str) -> Outlet | None:
    """The outlet of ``source`` in run ``run_id`` in this process, if any."""
    return _outlets.get((run_id, source))


class Streams:
    """A source's batches, streamed live to the takers running in this event loop."""

    def __init__(self, source: str, takers: Iterable[str]) -> None:
        self.source = source
        #: set once a taker may start: the handoff step started, or the source ended without it
        self.ready = anyio.Event()
        self.live = False
        self.complete = False
        self.error: str | None = None
        self._sends: dict[str, MemoryObjectSendStream[Any]] = {}
        self._receives: dict[str, MemoryObjectReceiveStream[Any]] = {}
        for taker in takers:
            self._sends[taker], self._receives[taker] = anyio.create_memory_object_stream[Any](TAKER_BUFFER)

    def open(self) -> None:
        self.live = True
        self.ready.set()

    async def send(self, batch: Any) -> None:
        for taker, stream in list(self._sends.items()):
            try:
                await stream.send(batch)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):  # the taker ended: it wants no more
                del self._sends[taker]

    def close(self, error: str | None) -> None:
        self.complete, self.error = error is None, error
        for stream in self._sends.values():
            stream.close()
        self._sends.clear()

    def settle(self) -> None:
        """The source pipeline ended, however: takers waiting to start may, and none waits for a
        batch that will not come."""
        if self._sends:
            self.close(self.error or f"pipeline {self.source!r} ended before it handed over all its rows")
        self.ready.set()

    def takes(self, taker: str) -> bool:
        """Whether ``taker`` still takes this source's batches live."""
        return taker in self._receives

    def leave(self, taker: str) -> None:
        """``taker`` ended, however: the source no longer waits for it."""
        receive = self._receives.pop(taker, None)
        if receive is not None:
            receive.close()

    async def stream(self, taker: str) -> AsyncIterator[Any]:
        """The batches for ``taker``, as the source sends them; raises when the source stopped
        before it sent them all, so the taker fails rather than loading part of them as if whole."""
        receive = self._receives[taker]
        async with receive:
            async for batch in receive:
                yield batch
        if not self.complete:
            raise StepError(f"pipeline {self.source!r} stopped before it handed over all its rows: {self.error or 'interrupted'}")


def taken(run_id: str, source: str, taker: str) -> AsyncIterator[Any] | None:
    """What ``taker`` gets of ``source``'s rows in this process (None: read them from the file)."""
    live = _outlets.get((run_id, source))
    if isinstance(live, Streams) and live.live and live.takes(taker):
        return live.stream(taker)
    batches = _given.get((run_id, source, taker))
    return None if batches is None else _each(batches)


async def _each(batches: Sequence[Any]) -> AsyncIterator[Any]:
    for batch in batches:
        yield batch


def streaming_takers(plan: Plan, names: Iterable[str], in_loop: Mapping[str, bool]) -> dict[str, list[str]]:
    """Which pipelines of this run take their source's rows live, by source: both run in this
    event loop (``in_loop``: by pipeline), and the taker does not need its source to have ended
    first — no condition or ``run_if`` reads the source's outcome, it is no foreach instance
    (whose ``max_parallel`` could hold it back while its source waits for it), and none of its
    other dependencies waits for the source (the source would wait for the taker, which waits
    for them)."""
    from orchestrator.config.graph import with_dependencies
    from orchestrator.engine.gates import conditional

    pipelines = plan.pipelines
    graph = {name: spec.depends_on for name, spec in pipelines.items()}
    running = set(names)
    takers: dict[str, list[str]] = {}
    for name in running:
        spec = pipelines[name]
        source = spec.extract_from
        if source is None or source not in running or not (in_loop[name] and in_loop[source]):
            continue
        if conditional(spec) or spec.fanout is not None or pipelines[source].fanout is not None:
            continue
        others = [dep for dep in spec.depends_on if dep != source]
        if others and source in with_dependencies(graph, others):
            continue
        takers.setdefault(source, []).append(name)
    return takers


@contextmanager
def streaming(run_id: str, takers: Mapping[str, list[str]]) -> Iterator[dict[str, Streams]]:
    """Register live outlets for a run's sources while the run goes on (see :func:`streaming_takers`)."""
    outlets = {source: Streams(source, names) for source, names in takers.items()}
    for source, streams in outlets.items():
        _outlets[(run_id, source)] = streams
    try:
        yield outlets
    finally:
        for source in outlets:
            _outlets.pop((run_id, source), None)


class _Collected:
    """An outlet that keeps every batch, to be shipped with the source's result."""

    def __init__(self) -> None:
        self.batches: list[Any] = []

    def open(self) -> None:
        pass

    async def send(self, batch: Any) -> None:
        self.batches.append(batch)

    def close(self, error: str | None) -> None:
        pass


@contextmanager
def collecting(run_id: str, source: str) -> Iterator[list[Any]]:
    """Keep the batches ``source``'s handoff step sends while it runs here, in the list yielded."""
    collected = _Collected()
    _outlets[(run_id, source)] = collected
    try:
        yield collected.batches
    finally:
        _outlets.pop((run_id, source), None)


@contextmanager
def given(run_id: str, taker: str, rows: Mapping[str, Sequence[Any]]) -> Iterator[None]:
    """Let ``taker``, while it runs here, take the batches of each source in ``rows``."""
    keys = [(run_id, source, taker) for source in rows]
    _given.update(zip(keys, rows.values(), strict=True))
    try:
        yield
    finally:
        for key in keys:
            _given.pop(key, None)


def hands_off(spec: PipelineSpec) -> bool:
    """Whether the pipeline (as the engine prepared it) hands its rows to another."""
    return any(step.plugin == HANDOFF_PLUGIN for step in spec.phases.get("load", ()))
