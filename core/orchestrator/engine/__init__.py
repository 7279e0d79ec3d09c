"""The engine: schedules the pipeline DAG and keeps the phase contract.

- Pipelines start as soon as their own dependencies succeeded (a true DAG, not waves); a failed
  pipeline skips its dependents and never cancels unrelated ones (:mod:`.scheduler`).
- Extract and load steps run concurrently, bounded by ``concurrency``; transform and
  transform_at_load steps run in order (:mod:`.pipeline`). Sync steps run in worker threads, async
  ones on the loop; one :class:`~.steps.StepRun` owns a step's call, timeout and retries
  (:mod:`.steps`).
- A single extract step that returns an iterator streams: batches flow through the transforms into
  every load through bounded buffers (back-pressure), sharing each batch rather than copying it
  (:mod:`.streaming`).
- Everything a run does is recorded once, as an event of :mod:`orchestrator.events`, where the
  observer hooks fire too (:mod:`.record`). What the engine needs from outside (checkpoints, dead
  letters, executors) it gets through the interfaces of :mod:`.ports`; it imports no backend.

``docs/design/engine.md`` is the map.
"""

from orchestrator.engine.scheduler import Engine, new_run_id
from orchestrator.engine.steplogs import StepLogs
from orchestrator.engine.streaming import STREAM_BUFFER

__all__ = ["STREAM_BUFFER", "Engine", "StepLogs", "new_run_id"]
