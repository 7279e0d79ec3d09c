"""Recording what each step received and returned, without changing how it runs.

Every registered step is wrapped in a function of the same kind (sync or async, generator or not),
because the engine decides how to call a step from its kind. Streams stay streams: batches are
recorded as they pass.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from orchestrator.config.phases import LOAD, TRANSFORM
from orchestrator.plugins.registry import Registration


@dataclass
class StepRecord:
    """One step of one run: its arguments, what reached it, and what it gave back.

    - extract: ``returned`` holds each batch it produced (one item when it returned plain data)
    - transform: ``received`` and ``returned`` hold each batch in and out
    - load: ``received`` holds each batch it consumed, ``returned`` its report
    - transform_at_load: ``returned`` holds its report
    """

    pipeline: str
    phase: str
    step: str
    plugin: str
    args: dict[str, Any] = field(default_factory=dict)
    received: list[Any] = field(default_factory=list)
    returned: list[Any] = field(default_factory=list)

    @property
    def rows_returned(self) -> list[Any]:
        """Every row of every batch returned, for list batches."""
        return [row for batch in self.returned if isinstance(batch, list) for row in batch]

    @property
    def rows_received(self) -> list[Any]:
        return [row for batch in self.received if isinstance(batch, list) for row in batch]


class Recorder:
    """Collects :class:`StepRecord` objects, keyed by ``(pipeline, step id)``."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], StepRecord] = {}

    def record_for(self, ctx: Any, args: dict[str, Any]) -> StepRecord:
        key = (ctx.pipeline, ctx.step_id)
        if key not in self.records:
            self.records[key] = StepRecord(ctx.pipeline, ctx.phase, ctx.step_id, ctx.plugin, dict(args))
        return self.records[key]

    def wrap(self, entry: Registration) -> Callable[..., Any]:
        """A stand-in for ``entry``'s callable that records every call."""
        function = entry.resolve()
        takes_data = entry.kind in (TRANSFORM, LOAD)
        is_load = entry.kind == LOAD

        def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, StepRecord]:
            ctx = args[0]
            record = self.record_for(ctx, kwargs)
            if takes_data and not is_load:
                record.received.append(args[1])
            return ctx, record

        if inspect.isasyncgenfunction(function):

            async def async_gen(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                _, record = split(args, kwargs)
                async for batch in function(*args, **kwargs):
                    record.returned.append(batch)
                    yield batch

            return async_gen
        if inspect.iscoroutinefunction(function):

            async def coroutine(*args: Any, **kwargs: Any) -> Any:
                _, record = split(args, kwargs)
                if is_load:
                    args = (args[0], _AsyncTap(args[1], record.received), *args[2:])
                result = await function(*args, **kwargs)
                return self._returned(record, result, entry.kind)

            return coroutine

        def plain(*args: Any, **kwargs: Any) -> Any:
            _, record = split(args, kwargs)
            if is_load:
                args = (args[0], _tap(args[1], record.received), *args[2:])
            return self._returned(record, function(*args, **kwargs), entry.kind)

        return plain

    @staticmethod
    def _returned(record: StepRecord, result: Any, kind: str) -> Any:
        if hasattr(result, "__anext__"):
            return _AsyncTap(result, record.returned)
        if hasattr(result, "__next__") and not isinstance(result, (str, bytes)):
            return _tap(result, record.returned)
        record.returned.append(result)
        return result


def _tap(items: Any, into: list[Any]) -> Iterator[Any]:
    for item in items:
        into.append(item)
        yield item


class _AsyncTap:
    """An async iterator that records what passes through it."""

    def __init__(self, items: Any, into: list[Any]) -> None:
        self._items = items.__aiter__() if hasattr(items, "__aiter__") else _as_async(items)
        self._into = into

    def __aiter__(self) -> _AsyncTap:
        return self

    async def __anext__(self) -> Any:
        item = await self._items.__anext__()
        self._into.append(item)
        return item


async def _as_async(items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item
