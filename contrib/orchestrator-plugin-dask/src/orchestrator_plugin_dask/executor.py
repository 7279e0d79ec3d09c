"""``dask``: each pipeline runs as one task on a Dask cluster.

The executor takes the whole DAG (``takes_graph``): the engine submits every pipeline at once, and
each task is given its parents' futures as arguments, so the Dask scheduler sees the dependencies
and starts a pipeline as soon as its parents' tasks finished, without a round trip through the
client; a task whose parent did not succeed returns its pipeline skipped. There are no waves and
nothing waits for unrelated pipelines. A task ships the plan's data for its
pipeline only (a :class:`~orchestrator.executors.remote.RemoteJob`), the worker rebuilds the
plugins from the same installed entry points (so lifecycle hooks fire there) and runs the pipeline
with the same engine code as ``local``. Rows handed from one pipeline to another go from the
source's task to the taker's as Dask data, not through the client (see :mod:`.task`).

Importing this module imports ``distributed``; the registry imports it only when a run creates a
``dask`` executor.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.lowlevel
import dask.config
from dask.typing import Key
from distributed import Client, Future, LocalCluster

from orchestrator.engine.handoff import hands_off
from orchestrator.events import SKIPPED, Event, Kind, PipelineOutcome, discard
from orchestrator.executors import Executor, PipelineJob, skipped_because
from orchestrator.executors.remote import remote_job, unshippable

from orchestrator_plugin_dask.relay import EventRelay
from orchestrator_plugin_dask.schema import DEFAULT_RETRIES, DEFAULT_THREADS_PER_WORKER
from orchestrator_plugin_dask.task import TaskResult, reported, run_pipeline

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.plugins.discovery import Plugins

#: How long closing the client and an on-demand cluster may take before it is abandoned.
CLOSE_SECONDS = 30.0


class DaskExecutor(Executor):
    """Run each pipeline as a Dask task: on the scheduler at ``address``, on the scheduler named
    by Dask's own config (``DASK_SCHEDULER_ADDRESS``), or on a LocalCluster started for the run."""

    crosses_processes = True
    takes_graph = True

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        threads_per_worker: int = DEFAULT_THREADS_PER_WORKER,
        processes: bool = True,
        retries: int = DEFAULT_RETRIES,
        resources: dict[str, float] | None = None,
    ) -> None:
        self.address = address or dask.config.get("scheduler-address", None)
        self.workers = workers or os.cpu_count() or 1
        self.threads_per_worker = threads_per_worker
        self.processes = processes
        self.retries = retries
        self.resources = resources
        self.cluster: LocalCluster | None = None
        self.client: Client | None = None
        self._relay = EventRelay()
        #: this run's tasks by pipeline, for the tasks that depend on them
        self._futures: dict[str, Future[TaskResult]] = {}
        self._submitted: dict[str, anyio.Event] = {}
        #: results fetched in batches (see :meth:`_result`): the finished tasks waiting for the
        #: next batch, the batch being fetched, and what was fetched (None: fetch it alone)
        self._done: list[Future[TaskResult]] = []
        self._fetching: anyio.Event | None = None
        self._fetched: dict[Key, TaskResult | None] = {}

    async def __aenter__(self) -> DaskExecutor:
        try:
            if self.address is None:
                self.cluster = await LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=self.threads_per_worker,
                    processes=self.processes,
                    dashboard_address="127.0.0.1:0",  # its HTTP server; a fixed port clashes between runs
                    silence_logs=logging.ERROR,
                    asynchronous=True,
                )
            self.client = await Client(self.cluster or self.address, asynchronous=True)
            self.client.subscribe_topic(self._relay.topic, self._relay.deliver)
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def _close(self) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_SECONDS):
            if self.client is not None:
                await self.client.close()
            if self.cluster is not None:
                await self.cluster.close()
        self.client = self.cluster = None

    def refusals(self, plan: Plan, plugins: Plugins, pipelines: list[str]) -> list[str]:
        return unshippable(plan, plugins, pipelines)

    async def handed_over(self, run_id: str, source: str) -> list[Any] | None:
        """The batches ``source``'s task returned (the engine makes a ``foreach: {from: SOURCE}``'s
        instances of them): fetched to the client, which needs the items to name the instances and
        may not see the handoff file a worker on another machine wrote. Asked only for the source
        of a foreach; the rows an ``extract: {from: ...}`` takes never come here. None when this
        run did not run ``source`` here (a resume reused it; the file is then the way)."""
        future = self._futures.get(source)
        if future is None or self.client is None:
            return None
        result = cast(TaskResult, await self.client.gather(future))
        return result.rows

    async def submit(self, job: PipelineJob) -> PipelineOutcome:
        assert self.client is not None, "submit() outside 'async with'"
        name = job.pipeline.name
        parents = []
        for parent in job.upstream:  # submitted in the DAG's order; wait only if one is not yet
            if parent not in self._submitted or not self._submitted[parent].is_set():
                await self._submitted.setdefault(parent, anyio.Event()).wait()
            if parent not in self._futures:  # its submission failed: it never reached Dask
                return skipped(job, [parent])
            parents.append(self._futures[parent])
        relay = self._relay.open(job.emit) if job.emit is not discard else None
        try:
            self._futures[name] = future = self.client.submit(
                run_pipeline,
                remote_job(job),  # its own pipeline of the plan only, not all 1,000 of a large one
                relay,
                *parents,
                key=f"pipeline-{name}-{job.run_id}-{os.urandom(4).hex()}",
                pure=False,
                retries=self.retries,
                resources=self.resources,
            )
            # a source's result holds its rows: the client waits for a copy without them
            fetched = self.client.submit(reported, future, key=f"reported-{future.key}", pure=False) if hands_off(job.pipeline) else future
        finally:
            self._submitted.setdefault(name, anyio.Event()).set()
        try:
            result: TaskResult = await self._result(fetched)
        except Exception:
            broken = [parent for parent in job.upstream if self._futures[parent].status == "error"]
            if not broken:
                raise
            # a parent's task failed (not its pipeline: that comes back as an outcome), so this
            # one never ran: skipped, as the engine skips the dependents of a failed pipeline
            if relay is not None:
                self._relay.close(relay)
            return skipped(job, broken)
        except BaseException:
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_SECONDS):
                await self.client.cancel([future, fetched])
            if relay is not None:
                self._relay.close(relay)
            raise
        if relay is not None:
            await self._relay.settle(result.attempt, result.events)
            self._relay.close(relay)
        return result.outcome

    async def _result(self, future: Future[TaskResult]) -> TaskResult:
        """A task's result, fetched from the workers together with those of the tasks that
        finished at about the same time: one round trip per batch rather than per pipeline, which
        is most of what a large DAG costs the client beyond raw ``client.submit``."""
        finished = anyio.Event()
        loop = asyncio.get_running_loop()
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(finished.set))  # type: ignore[no-untyped-call] # from a thread
        await finished.wait()
        if future.status != "finished":  # it failed or was cancelled: its own error says why
            return cast(TaskResult, await future)
        self._done.append(future)
        while future.key not in self._fetched:
            if self._fetching is not None:
                await self._fetching.wait()
                continue
            self._fetching = fetching = anyio.Event()
            batch: list[Future[TaskResult]] = []
            try:
                await anyio.lowlevel.checkpoint()  # the tasks that finished just now join this batch
                batch, self._done = self._done, []
                results = await self.client.gather(batch)  # type: ignore[union-attr]
                self._fetched.update(zip((f.key for f in batch), results))
            except Exception:  # noqa: BLE001, S110 - each of the batch then fetches its own, and reports its own error
                pass
            finally:
                for other in batch:  # cancelled or failed here: the others must not wait for this batch
                    self._fetched.setdefault(other.key, None)
                self._fetching = None
                fetching.set()
        fetched = self._fetched.pop(future.key)
        return cast(TaskResult, await future) if fetched is None else fetched


def skipped(job: PipelineJob, failed: list[str]) -> PipelineOutcome:
    """The outcome (and event) of a pipeline that did not run because ``failed`` did not succeed."""
    event = Event(Kind.PIPELINE_SKIPPED, job.run_id, job.pipeline.name, status=SKIPPED, error=skipped_because(failed))
    job.emit(event)
    return PipelineOutcome.of(event)



