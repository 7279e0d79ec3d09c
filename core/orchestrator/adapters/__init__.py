"""What every engine adapter (Airflow, Prefect, Dagster, Argo...) needs of the core, engine-neutral.

An adapter lays a pipeline file out as the engine's graph of tasks and runs each pipeline as one
task through the core, so every feature (streaming, resume, dead letters, history) behaves as
under ``orchestrator run``:

- :func:`read_shape`: the file as a graph: pipelines in dependency order with their
  ``depends_on``, ``retry:`` (the core's :class:`~orchestrator.config.policies.RetryPolicy`, for the
  adapter to map onto the engine's retries) and ``schedule:``, and the file's parameters;
- :func:`run_pipeline`: one pipeline run alone as an engine task, under a run id made of the
  engine's own ids (:func:`~orchestrator.runstate.layout.run_id_from`), with the pipeline's own
  retries left to the engine, a failure raised as :class:`PipelineFailed`, whose
  :meth:`~PipelineFailed.worth_retrying` is the core's own judgement of the pipeline's ``retry:
  {on: [...]}`` (base classes included), for the engine's retry condition.

Nothing here imports an engine, and nothing on ``orchestrator run``'s path imports this package.
"""

from __future__ import annotations

from orchestrator.adapters.shape import FileShape, PipelineShape, read_shape
from orchestrator.adapters.tasks import PipelineFailed, run_pipeline

__all__ = ["FileShape", "PipelineFailed", "PipelineShape", "read_shape", "run_pipeline"]
