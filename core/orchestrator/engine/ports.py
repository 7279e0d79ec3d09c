"""What the engine needs from the world, as small interfaces (the ports).

The engine keeps no file of its own: whoever assembles a run (``orchestrator.launch`` for the CLI,
a test's helper, an executor's worker side) builds the concrete checkpoint store and dead-letter
store and hands them to :class:`~orchestrator.engine.Engine`. So the engine imports no storage
backend, and a backend can change (or be faked in a test by a plain class) without touching it.
Executors are the fourth port; their interface is :class:`orchestrator.executors.Executor`.

Both stores are handed to executors that cross a process boundary, so a concrete store must be
plain, picklable data (a folder, say) that opens its files where it is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec
    from orchestrator.context import StepContext


class CheckpointWriter(Protocol):
    """A phase's output written batch by batch; only :meth:`commit` makes it complete."""

    def add(self, batch: Any) -> None: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


class PipelineCheckpoints(Protocol):
    """One pipeline's phase outputs in one run, kept so a resumed run need not extract again."""

    def complete(self, phase: str) -> bool: ...

    def streamed(self, phase: str) -> bool: ...

    def keep_whole(self, phase: str, data: Any) -> None: ...

    def read(self, phase: str) -> Iterator[Any]: ...

    def writer(self, phase: str, *, streamed: bool) -> CheckpointWriter: ...

    def discard(self, *, again: bool = False) -> None:
        """Forget what was kept (``again``: a retry of the pipeline starts from its extract)."""

    def release(self) -> None:
        """Close what is open; called once the pipeline ended, however it ended."""


class CheckpointStore(Protocol):
    """Where the runs' checkpoints live."""

    def holding(self, run_id: str) -> AbstractContextManager[None]:
        """Keep what the run shares between its pipelines open while the run goes on."""

    def recover(self, run_id: str) -> None:
        """Before a resumed run writes: drop what the interrupted attempt left half written."""

    def remove(self, run_id: str) -> None:
        """Every pipeline of the run succeeded: its checkpoints are no longer needed."""

    def pipeline(self, run_id: str, pipeline: str, *, resumed: bool) -> PipelineCheckpoints: ...


class DeadLetterSink(Protocol):
    """Where one pipeline's dead-lettered rows go in one run."""

    def add(self, context: StepContext, row: Any, error: str, position: int | None) -> None: ...

    def close(self) -> None: ...

    def written(self) -> str | None:
        """Where the rows went, once closed; None when no row was dead-lettered."""


class DeadLetterStore(Protocol):
    """Where the runs' dead letters live, and how an earlier run's are read back for a replay."""

    def open(self, run_id: str, pipeline: PipelineSpec) -> DeadLetterSink | None:
        """The sink of the pipeline's rows in this run; None when no step of it dead-letters."""

    def rows_by_step(self, source: Path) -> dict[str, list[Any]]:
        """The rows of an earlier run's dead-letter file, by the step that rejected them."""

    def load_id(self, source: Path, pipeline: str, step: str) -> str:
        """The load id a replay of ``source`` loads under: the same on every replay of that run,
        so an idempotent load skips what an earlier replay committed."""
