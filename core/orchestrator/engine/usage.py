"""Resource accounting: what each step attempt, pipeline and run used, measured cheaply enough to
be on for every run (the ``telemetry`` bench row keeps it under 5 µs per step).

How CPU time (user + system) is attributed, and why:

- a **sync step** runs in a worker thread: the CPU time of that thread while the step's function
  runs (``time.thread_time()`` around each call, each pull of its stream), which is exact for the
  step's own code whatever else runs beside it;
- an **async step** shares the event loop's thread with every other task: the CPU time of that
  thread while the step's own coroutine runs, measured around each resumption of it
  (:class:`Metered`). What the loop does between resumptions (other steps, the engine, callbacks of
  sockets) is not counted to the step;
- threads a step starts itself are not counted to the step (no thread can read another's time);
- a **pipeline**: the sum of its step attempts' CPU, every attempt included;
- a **run**: its process's CPU (every thread, the engine's own work and the history's included)
  plus that of the worker processes it waited for (``RUSAGE_CHILDREN``: the ``process``
  executor's), from start to end. Pipelines that ran on a remote cluster are in their pipelines'
  figures only.

Peak RSS is the process's high-water mark (``ru_maxrss``) when the step, pipeline or run ended:
the peak of the process the work ran in, not of the step alone; a worker's events carry the
worker's. A step's end reuses a reading up to 5 ms old (:func:`recent_peak_rss`). A run's peak is the largest of its process's, its reaped workers' and its pipelines'.

``ORCHESTRATOR_RESOURCE_ACCOUNTING=off`` turns the measuring off (for the bench row that prices
it, and tests): the figures are then left empty.
"""

from __future__ import annotations

import os
import resource
import sys
import types
from collections.abc import Awaitable, Callable, Generator
from time import thread_time
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Switch:
    """Whether resources are measured: ``ACCOUNTING.on``, read from the environment at import (a
    worker process reads its own), flipped in-process by the bench that prices it."""

    __slots__ = ("on",)

    def __init__(self, on: bool) -> None:
        self.on = on


ACCOUNTING = Switch(os.environ.get("ORCHESTRATOR_RESOURCE_ACCOUNTING", "on").lower() not in ("off", "0", "false", "no"))

#: how long a reading of the peak RSS serves the step ends that come after it
PEAK_READ_SECONDS = 0.005
#: ``ru_maxrss`` is in KiB on Linux, in bytes on macOS
_RSS_UNIT = 1 if sys.platform == "darwin" else 1024


class Meter(Protocol):
    """What a step attempt used so far (its :class:`~orchestrator.context.StepContext`): ``cpu``
    seconds, added to by the calls that run its code."""

    cpu: float


def metered_call(function: Callable[[], T], meter: Meter) -> Callable[[], T]:
    """``function`` (called in a worker thread), its thread's CPU time added to ``meter``."""

    def call() -> T:
        started = thread_time()
        try:
            return function()
        finally:
            meter.cpu += thread_time() - started

    return call


@types.coroutine
def metered(awaitable: Awaitable[T], meter: Meter) -> Generator[Any, Any, T]:
    """``await metered(awaitable, meter)``: the awaitable, the loop thread's CPU time while it runs
    (each resumption, not the waits between them) added to ``meter``. It passes on what the
    awaitable yields to the event loop and what the loop sends back, so it works on any loop."""
    inner = awaitable.__await__()
    value: Any = None
    error: BaseException | None = None
    while True:
        started = thread_time()
        try:
            yielded = inner.send(value) if error is None else inner.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            meter.cpu += thread_time() - started
        try:
            value, error = (yield yielded), None
        except GeneratorExit:
            inner.close()
            raise
        except BaseException as exc:  # noqa: BLE001 - thrown in by the loop: handed on to the awaitable
            value, error = None, exc


def peak_rss() -> int:
    """The process's peak resident memory so far, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RSS_UNIT


#: (when it was read, by ``perf_counter``; the peak then), for :func:`recent_peak_rss`
_last_peak = [-1.0, 0]


def recent_peak_rss(now: float) -> int:
    """The peak at most :data:`PEAK_READ_SECONDS` before ``now`` (a ``perf_counter`` reading): a
    step's end reads it, and thousands of steps ending within milliseconds need not each pay the
    system call (the peak only grows, so a reading that recent is already a step's peak or the
    peak a moment before its end)."""
    if now - _last_peak[0] >= PEAK_READ_SECONDS:
        _last_peak[0], _last_peak[1] = now, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RSS_UNIT
    return int(_last_peak[1])


def process_usage() -> tuple[float, int | None]:
    """CPU seconds (user + system) of this process and of the child processes it waited for, and
    the largest peak RSS among the children (None without any)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return cpu, children.ru_maxrss * _RSS_UNIT or None
