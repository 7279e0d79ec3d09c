"""``process``: a pool of worker processes on this machine, for CPU-bound pipelines.

Each pipeline runs whole in one worker (its sync steps then use that worker's own interpreter, so
CPU-heavy pure-Python transforms of different pipelines run in parallel on different cores). Workers
are spawned fresh, load the plugins from the same entry points, fire the lifecycle hooks there, and
send their events back to this process, where they are shown as usual.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, Self

import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from orchestrator.events import EventSink, PipelineOutcome
from orchestrator.executors import Executor, PipelineJob
from orchestrator.executors.remote import RemoteJob, remote_job, run_remote, unshippable

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.plugins.discovery import Plugins

_events: Any = None  # the queue back to the parent, in a worker process


def _start_worker(events: Any) -> None:
    global _events
    _events = events
    threading.Thread(target=_die_with_parent, args=(os.getppid(),), name="orchestrator-parent-watch", daemon=True).start()


#: how often a worker checks that the process that started it is still there (seconds)
PARENT_CHECK_INTERVAL = 0.5


def _die_with_parent(parent: int) -> None:
    """End this worker when the run's process is gone (killed with SIGKILL, say): an orphaned
    worker would go on loading rows nobody records, and hold files a resume needs. A worker whose
    parent died is adopted by another process, so its parent id changes; what the worker had not
    committed is rolled back with it, and the next ``--resume`` goes on from the committed batches."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_INTERVAL)
    os._exit(1)


def _run_in_worker(job: RemoteJob) -> PipelineOutcome:
    return run_remote(job, _events.put)


class ProcessExecutor(Executor):
    """Run each pipeline in a worker process of a pool of ``workers`` (default: the CPU count)."""

    crosses_processes = True

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._emit: EventSink | None = None

    def refusals(self, plan: Plan, plugins: Plugins, pipelines: list[str]) -> list[str]:
        return unshippable(plan, plugins, pipelines)

    async def __aenter__(self) -> Self:
        context = multiprocessing.get_context("spawn")
        self._queue = context.Queue()
        self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker, initargs=(self._queue,))
        self._token = anyio.lowlevel.current_token()
        self._relay = threading.Thread(target=self._relay_events, name="orchestrator-process-events", daemon=True)
        self._relay.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await anyio.to_thread.run_sync(self._pool.shutdown)
        self._queue.put(None)
        await anyio.to_thread.run_sync(self._relay.join)

    async def submit(self, job: PipelineJob) -> PipelineOutcome:
        self._emit = job.emit
        future = self._pool.submit(_run_in_worker, remote_job(job))
        return await asyncio.wrap_future(future)

    def _relay_events(self) -> None:
        """Hand the workers' events to the event loop, which shows them like local ones."""
        while (event := self._queue.get()) is not None:
            if self._emit is not None:
                anyio.from_thread.run_sync(self._emit, event, token=self._token)

