"""Run a pipeline-orchestrator file on Prefect: :func:`pipeline_flow` builds the flow (one task
per pipeline), :func:`deployment` and :func:`serve` put it on the file's schedules.

Prefect is imported when one of these names is first used, so ``orchestrator plugins`` (which
imports this package through its entry point) stays as fast without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator_plugin_prefect.deploy import deployment, serve
    from orchestrator_plugin_prefect.flow import pipeline_flow

__all__ = ["deployment", "pipeline_flow", "serve"]

_HOMES = {"pipeline_flow": "flow", "deployment": "deploy", "serve": "deploy"}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use."""
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(f"orchestrator_plugin_prefect.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'orchestrator_plugin_prefect' has no attribute {name!r}")
