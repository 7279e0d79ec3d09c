"""A step's death is that step's failure: what a step raises that is not an ``Exception``
(``SystemExit``, ``KeyboardInterrupt``, a bare ``BaseException``) becomes :class:`StepDied`, an
ordinary error that fails the step, and with it its pipeline only. Left alone, such an exception
passes every ``except Exception`` on its way up and ends the whole run with no summary (asyncio
even re-raises ``SystemExit`` and ``KeyboardInterrupt`` out of the event loop).

What must still go up is told apart from a step's own raise: a cancellation (the run is being
interrupted, or a timeout), a task group's exception group, and a ``KeyboardInterrupt`` that is a
real Ctrl-C. Signals are handled on the main thread only, so whatever a step raises in a worker
thread is its own; on the event loop, a real Ctrl-C first cancels the run (``orchestrator run``'s
watcher, asyncio's runner), so a ``KeyboardInterrupt`` there is a real one only once the run is
being cancelled, or when the SIGINT handler itself raised it.
"""

from __future__ import annotations

import functools
import math
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import anyio

from orchestrator.errors import OrchestratorError, describe

P = ParamSpec("P")
T = TypeVar("T")


class StepDied(OrchestratorError):
    """A step raised what is not an ``Exception``; ``cause`` is what it raised."""

    def __init__(self, cause: BaseException) -> None:
        self.cause = cause
        super().__init__(f"{describe(cause)} (raised by the step: it ends the step, not the run)")


def interrupted() -> bool:
    """Whether the scope around the caller is being cancelled: the run was interrupted."""
    return anyio.current_effective_deadline() == -math.inf


def in_thread(function: Callable[P, T]) -> Callable[P, T]:
    """``function`` for a worker thread (wrapped on the event loop), where anything it raises is
    its own but a cancellation (of a call it made back to the loop, a load pulling its stream):
    what is not an ``Exception`` comes out as :class:`StepDied`."""
    cancelled = anyio.get_cancelled_exc_class()

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        except (Exception, cancelled):
            raise
        except BaseException as exc:
            raise StepDied(exc) from exc

    return call


async def on_loop(awaitable: Awaitable[T]) -> T:
    """``await awaitable`` (a step's call on the event loop), its own death turned into
    :class:`StepDied`; a cancellation, an exception group or a real Ctrl-C goes on up."""
    try:
        return await awaitable
    except Exception:
        raise
    except BaseException as exc:
        if _goes_up(exc):
            raise
        raise StepDied(exc) from exc


def _goes_up(exc: BaseException) -> bool:
    if isinstance(exc, (anyio.get_cancelled_exc_class(), BaseExceptionGroup, GeneratorExit)):
        return True
    if isinstance(exc, KeyboardInterrupt):
        return threading.current_thread() is threading.main_thread() and (interrupted() or _raised_by_signal(exc))
    return False


def _raised_by_signal(exc: BaseException) -> bool:
    """Whether the SIGINT handler raised ``exc``: Python's default handler (which raises wherever
    the main thread is), or a handler of Python code that raised it itself (asyncio's runner does
    on a second Ctrl-C, while a step keeps the loop busy and the first could not cancel it yet)."""
    handler: Any = signal.getsignal(signal.SIGINT)
    if handler is signal.default_int_handler:
        return True
    while isinstance(handler, functools.partial):
        handler = handler.func
    code = getattr(getattr(handler, "__func__", handler), "__code__", None)
    trace = exc.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    return code is not None and trace is not None and trace.tb_frame.f_code is code


def anext_of(stream: Any, default: Any) -> Awaitable[Any]:
    """The next batch of a step's async stream, its death turned into :class:`StepDied`."""
    return on_loop(anext(stream, default))
