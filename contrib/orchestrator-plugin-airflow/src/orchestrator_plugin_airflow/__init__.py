"""Pipeline files on Apache Airflow 3: :func:`pipeline_dag` builds a DAG from a pipeline file, one
task per pipeline, each running its pipeline through pipeline-orchestrator.

``pipeline_dag`` is imported on first use, so loading this package as an orchestrator plugin does
not import Airflow."""

from __future__ import annotations

from typing import Any

__all__ = ["pipeline_dag"]


def __getattr__(name: str) -> Any:
    if name == "pipeline_dag":
        from orchestrator_plugin_airflow.dag import pipeline_dag

        return pipeline_dag
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
