"""``pipeline.handoff`` and ``pipeline.rows``: the two steps the engine adds for ``extract: {from:
SOURCE}`` and ``foreach: {from: SOURCE}`` (see :mod:`orchestrator.engine.handoff` for how their
rows meet). Written in a config, they would do the same, but ``extract: {from: ...}`` says it, and
implies the dependency.

The handoff step writes every batch to the run's handoff file before it offers it to a live
taker, so whatever a taker loaded is in the file too, and a resumed taker gets the same rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio.to_thread

from orchestrator.context import StepContext
from orchestrator.engine.batches import plus
from orchestrator.engine.handoff import outlet, taken
from orchestrator.errors import StepError, describe
from orchestrator.runstate.frames import FrameWriter, read_frames
from orchestrator.runstate.layout import handoff_file

_END = object()


async def hand_off(ctx: StepContext, batches: AsyncIterator[Any]) -> int | None:
    """Keep the pipeline's batches in the run's handoff file, and send each to the pipelines
    taking them live in this process; the file is complete only once every batch is in it."""
    path = handoff_file(ctx.base_dir, ctx.run_id, ctx.pipeline)
    writer = FrameWriter(path.with_suffix(".partial"), path, streamed=True)
    live = outlet(ctx.run_id, ctx.pipeline)
    if live is not None:
        live.open()
    rows: int | None = 0
    error: str | None = "interrupted"
    try:
        async for batch in batches:
            await anyio.to_thread.run_sync(writer.add, batch)
            rows = plus(rows, batch)
            if live is not None:
                await live.send(batch)
        await anyio.to_thread.run_sync(writer.commit)
        error = None
    except Exception as exc:
        error = describe(exc)
        raise
    finally:
        writer.close()
        if live is not None:
            live.close(error)
    return rows


async def take(ctx: StepContext, source: str) -> AsyncIterator[Any]:
    """The batches ``source`` hands over in this run: as they come when it streams them to this
    pipeline, else from the run's handoff file."""
    live = taken(ctx.run_id, source, ctx.pipeline)
    if live is not None:
        async for batch in live:
            yield batch
        return
    path = handoff_file(ctx.base_dir, ctx.run_id, source)
    if not path.is_file():
        raise StepError(
            f"pipeline {source!r} handed over no rows in run {ctx.run_id} (none are kept at {path}); "
            f"run {source!r} in this run, or resume the run in which it ran"
        )
    frames: Iterator[Any] = read_frames(path)
    while (batch := await anyio.to_thread.run_sync(next, frames, _END)) is not _END:
        yield batch
