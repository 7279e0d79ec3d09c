"""A pipeline as a Dagster asset: materializing it runs the pipeline through the core.

The asset's key is ``[<file>, <pipeline>]``, its deps the assets of the pipelines it
``depends_on``, its retry policy the pipeline's ``retry:`` (:mod:`.retries`). It runs the
pipeline alone (:func:`orchestrator.adapters.run_pipeline`) under a run id made of the file's
name, Dagster's run id and the pipeline: the root run's id, so a retry of the step, and a re-execution
of a failed run from its failure, both continue the same run of the core from its checkpoints.
The materialization carries the run's metadata: rows, duration, the core's run id and status.

This module, like the others that define Dagster objects, keeps its annotations evaluated (no
``from __future__ import annotations``): Dagster reads the compute function's annotations.
"""

from datetime import datetime
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestrator.adapters import FileShape, PipelineFailed, PipelineShape, run_pipeline
from orchestrator.errors import OrchestratorError
from orchestrator.runstate.layout import run_id_from
from orchestrator_plugin_dagster.names import dagster_name
from orchestrator_plugin_dagster.retries import retry_policy, worth_retrying

#: the resource that holds the file's parameters for a run (its config is the run's values)
PARAMS = "pipeline_params"
#: run tags a schedule of ours sets: the data interval of the tick (ISO 8601)
INTERVAL_START, INTERVAL_END = "orchestrator/interval_start", "orchestrator/interval_end"


def pipeline_asset(shape: FileShape, pipeline: PipelineShape, names: dict[str, str]) -> dg.AssetsDefinition:
    """The asset of ``pipeline``; ``names`` are the assets' names by pipeline."""
    group = dagster_name(shape.stem)

    def materialize(context: AssetExecutionContext) -> dg.MaterializeResult:
        values = {key: value for key, value in getattr(context.resources, PARAMS).items() if value is not None}
        engine_run = context.run.root_run_id or context.run.run_id
        run_id = run_id_from(shape.stem, engine_run, pipeline.name)
        try:
            outcome = run_pipeline(shape.path, pipeline.name, run_id, values, _interval(context.run.tags))
        except PipelineFailed as failed:  # the core's one-line reason, retried as retry: says
            raise dg.Failure(description=str(failed), allow_retries=worth_retrying(pipeline.retry, failed)) from None
        except OrchestratorError as refused:  # the core refused the file or the run: again would not help
            raise dg.Failure(description=str(refused), allow_retries=False) from None
        metadata: dict[str, Any] = {
            "duration": dg.MetadataValue.float(outcome.elapsed), "run_id": run_id, "status": outcome.status,
        }
        if outcome.rows is not None:
            metadata["rows"] = dg.MetadataValue.int(outcome.rows)
        return dg.MaterializeResult(metadata=metadata)

    return dg.asset(
        name=names[pipeline.name], key_prefix=[group], group_name=group,
        deps=[dg.AssetKey([group, names[upstream]]) for upstream in pipeline.depends_on],
        retry_policy=retry_policy(pipeline.retry), required_resource_keys={PARAMS},
        description=f"Pipeline {pipeline.name!r} of {shape.path.name}, run by pipeline-orchestrator.",
        kinds={"pipeline-orchestrator"},
    )(materialize)


def _interval(tags: dict[str, str]) -> tuple[datetime, datetime] | None:
    """The data interval a schedule of ours put on the run, else None (a run by hand)."""
    if INTERVAL_START in tags and INTERVAL_END in tags:
        return datetime.fromisoformat(tags[INTERVAL_START]), datetime.fromisoformat(tags[INTERVAL_END])
    return None
