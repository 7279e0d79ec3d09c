"""``process``: worker processes on this machine, for CPU-bound pipelines.

Each pipeline runs whole in one worker (its sync steps then use that worker's own interpreter, so
CPU-heavy pure-Python transforms of different pipelines run in parallel on different cores). Workers
are spawned fresh, load the plugins from the same entry points, fire the lifecycle hooks there, and
send their events back to this process, where they are shown as usual.

Each worker is a process of its own with a pipe of its own, not one of a shared pool: a worker that
dies (``os._exit`` in a step, a crash, the OOM killer) fails the pipeline it was running and no
other (a ``ProcessPoolExecutor`` breaks as a whole and fails every pipeline it holds), and a worker
can be killed alone: when the run is interrupted, and at the end, when a step that timed out left a
thread behind that would keep the worker alive.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.from_thread
import anyio.to_thread

from orchestrator.errors import OrchestratorError
from orchestrator.events import EventSink, PipelineOutcome
from orchestrator.executors import Executor, PipelineJob
from orchestrator.executors.remote import RemoteJob, remote_job, run_remote, unshippable

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from orchestrator.config.model import Plan
    from orchestrator.plugins.discovery import Plugins

#: seconds a worker is given to leave on its own at the end of the run, before it is killed
STOP_SECONDS = 2.0


class WorkerDied(OrchestratorError):
    """The worker process running a pipeline ended before the pipeline did."""


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


def _serve(conn: Connection) -> None:
    """A worker's life: run the jobs it is sent, one at a time, sending their events and then
    their outcome (or the error that stopped them) back; leave when told to (None)."""
    threading.Thread(target=_die_with_parent, args=(os.getppid(),), name="orchestrator-parent-watch", daemon=True).start()
    lock = threading.Lock()  # steps log from threads of their own: one message at a time on the pipe

    def send(message: tuple[str, Any]) -> None:
        with lock:
            conn.send(message)

    while (job := conn.recv()) is not None:
        try:
            outcome = run_remote(job, lambda event: send(("event", event)))
        except Exception as exc:  # noqa: BLE001 - goes back to the parent, which fails the pipeline with it
            send(("error", exc if _pickles(exc) else OrchestratorError(str(exc))))
        else:
            send(("outcome", outcome))


def _pickles(value: object) -> bool:
    import pickle

    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - pickling can raise nearly anything
        return False
    return True


class _Worker:
    """One worker process and this side of its pipe."""

    def __init__(self, context: Any) -> None:
        self.conn, there = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(there,), name="orchestrator-worker", daemon=True)
        self.process.start()
        there.close()

    def exchange(self, job: RemoteJob, emit: EventSink) -> PipelineOutcome:
        """Send ``job``; relay its events to ``emit`` (on the event loop) until its outcome comes."""
        self.conn.send(job)
        while True:
            try:
                kind, value = self.conn.recv()
            except (EOFError, OSError):
                self.process.join(STOP_SECONDS)
                raise WorkerDied(f"its worker process died (exit code {self.process.exitcode})") from None
            if kind == "event":
                anyio.from_thread.run_sync(emit, value)
            elif kind == "outcome":
                return value  # type: ignore[no-any-return]
            else:
                raise value

    def stop(self) -> None:
        """Ask the worker to leave; kill it if it has not within ``STOP_SECONDS`` (a thread that a
        timed-out step left running would keep it alive)."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(STOP_SECONDS)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class ProcessExecutor(Executor):
    """Run each pipeline in a worker process, at most ``workers`` at a time (default: the CPU count)."""

    crosses_processes = True

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def refusals(self, plan: Plan, plugins: Plugins, pipelines: list[str]) -> list[str]:
        return unshippable(plan, plugins, pipelines)

    async def __aenter__(self) -> Self:
        self._context = multiprocessing.get_context("spawn")
        self._slots = anyio.CapacityLimiter(self.workers)
        self._idle: list[_Worker] = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        idle, self._idle = self._idle, []
        async with anyio.create_task_group() as tasks:
            for worker in idle:
                tasks.start_soon(anyio.to_thread.run_sync, worker.stop)

    async def submit(self, job: PipelineJob) -> PipelineOutcome:
        async with self._slots:
            worker = self._idle.pop() if self._idle else await anyio.to_thread.run_sync(_Worker, self._context)
            try:
                outcome = await anyio.to_thread.run_sync(worker.exchange, remote_job(job), job.emit, abandon_on_cancel=True)
            except BaseException:  # died, or the run was interrupted: its pipeline must not go on unseen
                worker.kill()
                raise
            self._idle.append(worker)
            return outcome
