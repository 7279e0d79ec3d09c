"""The ``{{ cookiecutter.plugin_id }}`` executor: runs pipelines one at a time, in this process.

An executor receives each pipeline whose dependencies are done and decides where it runs; this one
queues them on a lock, which suits targets that cannot take concurrent writers."""

import anyio

from orchestrator.events import PipelineOutcome
from orchestrator.executors import Executor, PipelineJob


class SerialExecutor(Executor):
    def __init__(self) -> None:
        self._lock = anyio.Lock()

    async def submit(self, job: PipelineJob) -> PipelineOutcome:
        async with self._lock:
            return await job.run_here()
