"""What each layer of the engine sees of the layer that drives it, as small protocols.

The engine's modules depend one way: ``scheduler`` → ``pipeline`` → ``streaming`` → ``steps``.
A step run still needs a few things of the pipeline it belongs to (its ids, its record, its
dead-letter sink), and a pipeline runner a few of the engine (the plan, the event sink, the
stores). Naming exactly those here, rather than importing the class above, keeps the lower
module from depending on the one that imports it, and says in one place what crosses each seam.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec, Plan, StepSpec
    from orchestrator.context import PipelineContext
    from orchestrator.engine.batches import StreamFeed
    from orchestrator.engine.ports import CheckpointStore, DeadLetterSink, DeadLetterStore
    from orchestrator.engine.record import PipelineRecord
    from orchestrator.events import EventSink
    from orchestrator.plugins.discovery import Plugins
    from orchestrator.plugins.registry import Registry


class PipelineView(Protocol):
    """What a step run (:class:`~orchestrator.engine.steps.StepRun`) and the streaming of batches
    use of the pipeline runner they work for."""

    @property
    def run_id(self) -> str: ...

    @property
    def spec(self) -> PipelineSpec: ...

    @property
    def plan(self) -> Plan: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def context(self) -> PipelineContext: ...

    @property
    def record(self) -> PipelineRecord: ...

    @property
    def dead_letters(self) -> DeadLetterSink | None: ...

    @property
    def replaying(self) -> Path | None:
        """The dead-letter file being replayed, None on an ordinary run."""

    def load_id(self, step: StepSpec) -> str | None:
        """The load id of ``step`` on a replay (the same on every replay of one run)."""

    async def keep(self, write: Callable[[], None], tiny: bool = False) -> bool:
        """Write to the pipeline's checkpoint; False once the pipeline has none (any more)."""

    async def load(self, step: StepSpec, batches: list[Any] | StreamFeed) -> None:
        """Run one load step on its whole input or on the stream of it."""


class EngineView(Protocol):
    """What a pipeline runner (:class:`~orchestrator.engine.pipeline.PipelineRunner`) uses of
    the engine that runs it."""

    @property
    def plan(self) -> Plan: ...

    @property
    def plugins(self) -> Plugins: ...

    @property
    def emit(self) -> EventSink:
        """Where every event of the run goes."""

    @property
    def listened(self) -> bool:
        """Whether anyone reads the events that feed no outcome (starts, phases, progress)."""

    @property
    def redact(self) -> Callable[[str], str]: ...

    @property
    def hooks(self) -> dict[str, Any]:
        """The lifecycle hooks some plugin implements, by name."""

    @property
    def checkpoints(self) -> CheckpointStore | None: ...

    @property
    def dead_letters(self) -> DeadLetterStore | None: ...

    @property
    def trace_context(self) -> Mapping[str, str]:
        """The run's W3C trace context, handed to every context of the pipeline."""
