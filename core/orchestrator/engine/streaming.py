"""How data flows through a pipeline batch by batch: the extract phase's output
(:class:`BatchSource`, or :class:`Replay` of a checkpoint), the transforms applied to each batch
(:class:`TransformChain`), and the fan-out of every batch to every load through bounded buffers
(:func:`stream_to_loads`: a full buffer makes the producer wait, which is the back-pressure; the
loads share each batch rather than copying it). While data streams, ``step_progress`` events say
how many rows each step has seen so far, at most every ``PROGRESS_SECONDS``."""

from __future__ import annotations

import time
from asyncio import CancelledError
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from functools import partial
from time import thread_time
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from orchestrator.config.phases import EXTRACT, LOAD, TRANSFORM
from orchestrator.config.policies import FAIL, NONE
from orchestrator.daemon_threads import on_daemon_thread
from orchestrator.engine.batches import (
    END,
    StreamFeed,
    Upstream,
    UpstreamFailed,
    plus,
    row_count,
)
from orchestrator.engine.deaths import StepDied, anext_of, in_thread
from orchestrator.engine.ports import CheckpointWriter, PipelineCheckpoints
from orchestrator.engine.prints import CURRENT_STEP
from orchestrator.engine.steps import StepRun, within
from orchestrator.engine.usage import ACCOUNTING, metered, metered_call
from orchestrator.errors import StepError

if TYPE_CHECKING:
    from orchestrator.config.model import StepSpec
    from orchestrator.engine.views import PipelineView

__all__ = ["STREAM_BUFFER", "BatchSource", "Replay", "TransformChain", "UpstreamFailed", "stream_to_loads"]

#: Batches buffered per load step while streaming; the producer waits when a buffer is full.
STREAM_BUFFER = 4
#: at most this often, a streaming step's rows so far are reported (``step_progress``)
PROGRESS_SECONDS = 0.5


class BatchSource:
    """The extract phase's output: one in-memory batch, or a stream pulled batch by batch."""

    def __init__(self, runner: PipelineView | None, run: StepRun | None, stream: Any) -> None:
        self.runner, self.run = runner, run
        self.stream = stream
        self.batch: Any = END
        self.rows: int | None = 0

    @classmethod
    def single(cls, batch: Any) -> BatchSource:
        source = cls(None, None, None)
        source.batch = batch
        return source

    async def next(self) -> Any:
        """The next batch, or ``END`` once the stream is exhausted (which finishes the step)."""
        runner, run = self.runner, self.run
        assert runner is not None and run is not None and self.stream is not None
        stream, timeout = self.stream, run.step.policies.timeout
        running = CURRENT_STEP.set(run.context)  # what the stream prints is its step's log
        try:
            metering = ACCOUNTING.on
            if hasattr(stream, "__anext__"):
                batch = await within(
                    timeout, lambda: metered(anext_of(stream, END), run.context) if metering else anext_of(stream, END)
                )
            else:
                pull: Callable[[], Any] = partial(in_thread(next), stream, END)
                if metering:
                    pull = metered_call(pull, run.context)
                batch = await within(
                    timeout, lambda: anyio.to_thread.run_sync(pull) if timeout is None else on_daemon_thread(pull)
                )
        except Exception as exc:
            raise run.fail(exc) from exc
        finally:
            CURRENT_STEP.reset(running)
        if batch is END:
            self.stream = None
            run.finish(self.rows)
            runner.record.phase_finished(runner.context, EXTRACT)
            return END
        counted = row_count(batch)
        self.rows = None if counted is None or self.rows is None else self.rows + counted
        return batch

    def progress(self) -> None:
        if self.runner is not None and self.run is not None and self.stream is not None:
            step = self.run.step
            self.runner.record.step_progress(step.phase, step.id, step.plugin, self.rows)


class Replay:
    """A checkpoint read back in place of the extract phase's output: one piece of data, or a
    stream of batches read from disk one at a time (memory stays flat, as it did first time)."""

    def __init__(self, batch: Any, frames: Iterator[Any] | None) -> None:
        self.batch = batch
        self.frames = frames

    @classmethod
    async def of(cls, checkpoints: PipelineCheckpoints, phase: str) -> Replay:
        if await anyio.to_thread.run_sync(checkpoints.streamed, phase):
            return cls(END, checkpoints.read(phase))
        frames = await anyio.to_thread.run_sync(list, checkpoints.read(phase))
        return cls(frames[0] if frames else None, None)

    async def next(self) -> Any:
        assert self.frames is not None
        return await anyio.to_thread.run_sync(next, self.frames, END)

    def progress(self) -> None:
        """A checkpoint read back is no step: nothing to report."""


class TransformChain:
    """The transform phase, applied batch by batch. Consecutive sync transforms share one trip to
    a worker thread per batch, which keeps per-step overhead to a function call."""

    def __init__(self, runner: PipelineView, steps: tuple[StepSpec, ...], joining: dict[int, list[Any]] | None = None) -> None:
        """``joining``: rows added to the input of the step at that index (a dead-letter replay)."""
        self.runner = runner
        self.steps = steps
        self.joining = joining or {}
        self.started = False
        self.runs: list[StepRun] = []
        self.rows: list[int | None] = [0] * len(steps)
        self.rows_in: list[int | None] = [0] * len(steps)
        self.output: int | None = 0  # rows the chain passed on, to the loads
        self.seen = [0] * len(steps)  # input rows so far, of steps that may reject rows
        self.groups: list[tuple[bool, list[int]]] = []

    def _begin(self) -> None:
        self.started = True
        self.runner.record.phase_started(self.runner.context, TRANSFORM)
        for index, step in enumerate(self.steps):
            run = StepRun(self.runner, step).start()
            self.runs.append(run)
            # a step with a retry, timeout or on_error is called on its own, through its policies
            is_async = run.is_async or step.policies != NONE or step.on_error != FAIL or index in self.joining
            if self.groups and self.groups[-1][0] == is_async:
                self.groups[-1][1].append(index)
            else:
                self.groups.append((is_async, [index]))

    async def apply(self, batch: Any, then: Callable[[Any], None] | None = None) -> Any:
        """The batch through every transform. ``then(output)`` (keeping the output in a
        checkpoint) is called on an output that is not None before it is returned: in the worker
        thread of the last transforms when they are sync, so it costs no hand-off of its own (on
        a 1M-row stream, a hand-off per batch was a tenth of the run), else in a thread of its own."""
        batch, then = await self._through(batch, then)
        if batch is not None:
            self.output = plus(self.output, batch)
            if then is not None:
                await anyio.to_thread.run_sync(then, batch)
        return batch

    async def _through(self, batch: Any, then: Callable[[Any], None] | None) -> tuple[Any, Callable[[Any], None] | None]:
        """The output, and ``then`` when it is still to be called on it."""
        if not self.steps:
            return batch, then
        if not self.started:
            self._begin()
        last = len(self.groups) - 1
        for number, (is_async, indexes) in enumerate(self.groups):
            if is_async:
                for index in indexes:
                    batch = await self._one_async(index, batch)
                    if batch is None:
                        return None, None
            else:
                tail = then if number == last else None
                try:
                    batch = await anyio.to_thread.run_sync(self._sync_group, indexes, batch, tail)
                except _InGroup as failed:
                    raise self.runs[failed.index].fail(failed.cause) from failed.cause
                if batch is None:
                    return None, None
                if tail is not None:
                    then = None
        return batch, then

    async def _one_async(self, index: int, batch: Any) -> Any:
        run = self.runs[index]
        step = self.steps[index]
        offset = self.seen[index]
        try:
            if index in self.joining:
                batch = _joined(batch, self.joining[index])
            self.rows_in[index] = plus(self.rows_in[index], batch)
            if step.on_error != FAIL and isinstance(batch, list):
                self.seen[index] += len(batch)
            try:
                batch = await run.attempt(partial(run.call, batch))
            except Exception as exc:
                if step.on_error == FAIL or not isinstance(batch, list):
                    raise
                batch = await _row_by_row(run, batch, offset, exc)
        except Exception as exc:
            raise run.fail(exc) from exc
        self.rows[index] = plus(self.rows[index], batch)
        return batch

    def _sync_group(self, indexes: list[int], batch: Any, then: Callable[[Any], None] | None) -> Any:
        metering = ACCOUNTING.on
        clock = thread_time() if metering else 0.0  # each step's CPU: this thread's, from the end of the one before
        for index in indexes:
            run = self.runs[index]
            self.rows_in[index] = plus(self.rows_in[index], batch)
            CURRENT_STEP.set(run.context)  # this thread's context is a copy: no reset needed
            try:
                batch = run.function(run.context, batch, **run.step.args)
            except Exception as exc:
                raise _InGroup(index, exc) from exc
            except CancelledError:  # a call it made back to the event loop was cancelled
                raise
            except BaseException as exc:  # else, in a worker thread, whatever is raised is the step's own
                raise _InGroup(index, StepDied(exc)) from exc
            finally:
                if metering:
                    run.context.cpu += (now := thread_time()) - clock
                    clock = now
            self.rows[index] = plus(self.rows[index], batch)
            if batch is None:
                return None
        if then is not None:
            then(batch)
        return batch

    def progress(self) -> None:
        for index, run in enumerate(self.runs):
            step = run.step
            self.runner.record.step_progress(step.phase, step.id, step.plugin, self.rows[index], self.rows_in[index])

    def finish(self) -> None:
        if not self.steps:
            return
        if not self.started:  # no batch at all: the steps still ran, on nothing
            self._begin()
        for index, run in enumerate(self.runs):
            run.finish(self.rows[index], self.rows_in[index])
        self.runner.record.phase_finished(self.runner.context, TRANSFORM)


async def stream_to_loads(
    runner: PipelineView, source: BatchSource | Replay, chain: TransformChain, loads: tuple[StepSpec, ...],
    writer: CheckpointWriter | None,
) -> None:
    """Pull the source's batches through the chain into every load at once, kept in the
    checkpoint (``writer``) before any load sees them, so what a load committed is in it.

    A batch is kept in the worker thread that transformed it (see :meth:`TransformChain.apply`);
    a write that fails there is handed to the runner's :meth:`keep` on the loop, whose one rule
    for a checkpoint that cannot be written (a warning, the pipeline goes on without one) applies."""
    record = runner.record
    unwritten: list[Exception] = []

    def keep(batch: Any) -> None:
        assert writer is not None
        try:
            writer.add(batch)
        except Exception as exc:  # noqa: BLE001 - judged by the runner's rule, on the loop
            unwritten.append(exc)

    record.phase_started(runner.context, LOAD)
    upstream = Upstream()
    tick = time.monotonic() + PROGRESS_SECONDS
    async with anyio.create_task_group() as tasks:
        streams = []
        for step in loads:
            send, receive = anyio.create_memory_object_stream[Any](STREAM_BUFFER)
            streams.append(send)
            tasks.start_soon(runner.load, step, StreamFeed(receive, upstream), name=f"{runner.spec.name}:load:{step.id}")
        async with AsyncExitStack() as closing:
            for send in streams:
                closing.enter_context(send)
            try:
                while (batch := await source.next()) is not END:
                    batch = await chain.apply(batch, None if writer is None else keep)
                    if batch is not None:
                        if unwritten:
                            await runner.keep(partial(_reraise, unwritten.pop()), tiny=True)
                            assert writer is not None
                            writer.close()
                            writer = None
                        for send in streams:
                            await send.send(batch)
                    if record.listening and (now := time.monotonic()) >= tick:
                        tick = now + PROGRESS_SECONDS
                        source.progress()
                        chain.progress()
                        for step in loads:
                            record.step_progress(step.phase, step.id, step.plugin, None, chain.output)
            except BaseException as exc:
                upstream.error = exc  # loads must fail, not commit a partial stream as complete
                if writer is not None:
                    writer.close()
                raise
            chain.finish()
            if writer is not None:
                await runner.keep(writer.commit)
    record.phase_finished(runner.context, LOAD)


async def _row_by_row(run: StepRun, rows: list[Any], offset: int, error: Exception) -> list[Any]:
    """A transform whose ``on_error`` is skip or dead_letter raised on a batch: apply it to
    each row alone, keep what the rows that succeed give (in order) and reject the rows that
    raise. When a row's output is not a list, the outputs cannot be joined: the batch's
    error stands."""
    kept: list[Any] = []
    call: Callable[[Any], Awaitable[Any]] = run.call
    for number, row in enumerate(rows):
        try:
            output = await within(run.step.policies.timeout, partial(call, [row]))
        except Exception as exc:  # noqa: BLE001 - a row that raises anything is rejected
            run.context.reject(row, exc, position=offset + number)
            continue
        if isinstance(output, list):
            kept.extend(output)
        elif output is not None:
            raise error
    return kept


def _reraise(error: Exception) -> None:
    raise error


def _joined(batch: Any, rows: list[Any]) -> list[Any]:
    """A replayed step's input: what the step before it gave, and the rows it rejected before."""
    if batch is None:
        return rows
    if not isinstance(batch, list):
        raise StepError(f"cannot add its dead-lettered rows to its input, a {type(batch).__name__} rather than a list of rows")
    return [*batch, *rows]


class _InGroup(Exception):
    def __init__(self, index: int, cause: BaseException) -> None:
        self.index, self.cause = index, cause
