"""A pipeline file as Dagster definitions: one asset per pipeline, a job that materializes them
all, a schedule per pipeline ``schedule:``, and the file's parameters as the config of the
``pipeline_params`` resource (a run's values for them)."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster import InitResourceContext

from orchestrator.adapters import FileShape, read_shape
from orchestrator_plugin_dagster.assets import PARAMS, pipeline_asset
from orchestrator_plugin_dagster.names import asset_names, dagster_name
from orchestrator_plugin_dagster.schedules import schedule_definition


def definitions_from(path: str | os.PathLike[str], *, params: Mapping[str, Any] | None = None) -> dg.Definitions:
    """The Dagster definitions of the pipeline file at ``path``: the assets ``[<file>, <pipeline>]``,
    the job ``<file>`` materializing every one, and the schedule ``<pipeline>_schedule`` of each
    pipeline with a ``schedule:`` (its job ``<pipeline>_job`` materializes the pipeline with what
    it depends on). ``params`` sets defaults of the parameters (the file's own otherwise)."""
    shape = read_shape(path, dict(params or {}))
    names = asset_names(shape)
    group = dagster_name(shape.stem)
    assets = [pipeline_asset(shape, pipeline, names) for pipeline in shape.pipelines]
    everything = dg.define_asset_job(group, selection=dg.AssetSelection.groups(group), description=f"Every pipeline of {shape.path.name}.")
    jobs = [everything]
    schedules = []
    for pipeline in shape.pipelines:
        if pipeline.schedule is None:
            continue
        key = dg.AssetKey([group, names[pipeline.name]])
        job = dg.define_asset_job(f"{names[pipeline.name]}_job", selection=dg.AssetSelection.assets(key).upstream())
        jobs.append(job)
        schedules.append(schedule_definition(shape.path, pipeline, job, f"{names[pipeline.name]}_schedule"))
    return dg.Definitions(assets=assets, jobs=jobs, schedules=schedules, resources={PARAMS: params_resource(shape)})


def params_resource(shape: FileShape) -> dg.ResourceDefinition:
    """The file's parameters as a resource whose config has one field per parameter, defaulting to
    the file's default (None for one that reads the environment, ``${WAREHOUSE:-...}``: the file's
    own default then applies when the pipeline runs); a parameter without a default is required."""
    fields: dict[str, dg.Field] = {}
    for key, default in shape.params.items():
        if key in shape.required:
            fields[key] = dg.Field(dg.Any, is_required=True, description=f"the value of ${{params.{key}}} (required)")
        elif isinstance(default, str) and "${" in default:
            fields[key] = dg.Field(dg.Noneable(str), default_value=None, is_required=False, description=f"default: {default}")
        else:
            fields[key] = dg.Field(type(default), default_value=default, is_required=False)

    @dg.resource(config_schema=fields, description=f"The parameters of {shape.path.name} for a run.")
    def pipeline_params(context: InitResourceContext) -> dict[str, Any]:
        return dict(context.resource_config)

    return pipeline_params
