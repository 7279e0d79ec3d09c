"""``local``: the default executor, anyio in the current process.

Async steps run on the event loop; sync steps run in worker threads (bounded by ``threads``, the
number of worker threads shared by the run), so a CPU-bound or blocking step never stalls another
pipeline's I/O.
"""

from __future__ import annotations

from typing import Self

from orchestrator.events import PipelineOutcome
from orchestrator.executors import Executor, PipelineJob


class LocalExecutor(Executor):
    """Run each pipeline as a task in this process's event loop."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    async def __aenter__(self) -> Self:
        if self.threads is not None:
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
        return self

    async def submit(self, job: PipelineJob) -> PipelineOutcome:
        return await job.run_here()

