"""Ctrl-C and SIGTERM during ``orchestrator run``: stop cleanly, then, if asked again, at once.

The first signal interrupts the engine: no new step starts, running steps are cancelled and every
unfinished pipeline ends as ``interrupted``, with the summary printed as usual. A sync step's thread
cannot be stopped, so a second signal, or the grace period running out, ends the process at once.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable

import anyio
import anyio.abc

from orchestrator.diagnostics import JSON, log_format, say

#: Seconds an interrupted run may take to wind down before the process ends anyway.
GRACE_PERIOD = 10.0
#: The exit status of an interrupted run (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


def run_until_interrupted(run: Callable[[], Awaitable[object]], interrupt: Callable[[], None]) -> None:
    """Run ``run`` (a run's start) on a fresh event loop, watching for SIGINT and SIGTERM: the first
    calls ``interrupt`` (which stops the run as :meth:`orchestrator.engine.Engine.interrupt` does).
    What the run returns stays with the caller (on Python 3.11, asyncio's runner formats the main
    coroutine's return value when it restores signal handlers, which costs as much as a large run's
    whole bookkeeping)."""

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_watch, interrupt, tasks)
            await run()
            tasks.cancel_scope.cancel()

    try:
        anyio.run(main)
    except BaseExceptionGroup as group:  # the watcher's task group wraps what the run raised
        raise _sole(group) from None
    finally:  # a signal while the summary is printed ends the process, without a traceback
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda number, frame: _leave(f"{signal.Signals(number).name}: exiting now"))


def _sole(group: BaseExceptionGroup) -> BaseException:
    inner = group.exceptions[0] if len(group.exceptions) == 1 else group
    return _sole(inner) if isinstance(inner, BaseExceptionGroup) and inner is not group else inner


async def _watch(interrupt: Callable[[], None], tasks: anyio.abc.TaskGroup) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        received = 0
        async for signum in signals:
            received += 1
            if received > 1:
                _leave(f"{signal.Signals(signum).name} again: exiting now")
            say(
                f"{'' if log_format() == JSON else chr(10)}{signal.Signals(signum).name}: stopping the run; running steps "
                f"are being cancelled (again, or {GRACE_PERIOD:g}s from now, to exit at once)",
                "warning",
            )
            interrupt()
            tasks.start_soon(_deadline)


async def _deadline() -> None:
    await anyio.sleep(GRACE_PERIOD)
    _leave(f"still winding down after {GRACE_PERIOD:g}s: exiting now")


def _leave(message: str) -> None:
    say(message, "warning")
    os._exit(EXIT_INTERRUPTED)
