"""Sync calls that may be abandoned, run on daemon threads of our own.

A thread cannot be stopped, so a sync step that times out (or whose pipeline failed or was
interrupted) is abandoned: the run goes on without it. anyio's worker threads are not daemon
threads, and the interpreter waits for every such thread when it exits: a step stuck in
``time.sleep(3600)`` kept the process alive an hour after the summary. A daemon thread is not waited
for. Like anyio's, the threads are kept for reuse while idle (starting one per call costs twice the
call), and a call counts against the run's thread limit (the ``local`` executor's ``threads``) while
it is waited for.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

T = TypeVar("T")

#: seconds an idle thread waits for another call before it ends
IDLE_SECONDS = 10.0

_idle: list[_DaemonWorker] = []
_lock = threading.Lock()


class _Call:
    __slots__ = ("call", "context", "done", "outcome", "token")

    def __init__(self, call: Callable[[], Any]) -> None:
        self.call = call
        self.context = contextvars.copy_context()  # as anyio's threads do: the caller's context variables
        self.token = anyio.lowlevel.current_token()
        self.done = anyio.Event()
        self.outcome: tuple[bool, Any] = (False, None)

    def run(self) -> None:
        try:
            self.outcome = (True, self.context.run(self.call))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting task, which raises it
            self.outcome = (False, exc)
        try:
            anyio.from_thread.run_sync(self.done.set, token=self.token)
        except Exception:  # noqa: BLE001, S110 - the run has ended: nobody waits for this call any more
            pass


class _DaemonWorker(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="orchestrator step thread", daemon=True)
        self.calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            try:
                call = self.calls.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with _lock:
                    if self in _idle:  # else a call was handed to it just now: take it
                        _idle.remove(self)
                        return
                continue
            call.run()
            del call
            with _lock:
                _idle.append(self)


async def on_daemon_thread(call: Callable[[], T]) -> T:
    """``call()`` on a daemon thread; a cancellation (a timeout, an interruption) stops the
    waiting at once and leaves the thread to end on its own, or with the process."""
    pending = _Call(call)
    async with anyio.to_thread.current_default_thread_limiter():
        with _lock:
            worker = _idle.pop() if _idle else None
        if worker is None:
            worker = _DaemonWorker()
            worker.start()
        worker.calls.put(pending)
        await pending.done.wait()
    succeeded, value = pending.outcome
    if succeeded:
        return value  # type: ignore[no-any-return]
    raise value
