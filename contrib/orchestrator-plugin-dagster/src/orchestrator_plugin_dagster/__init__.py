"""Run a pipeline-orchestrator file on Dagster: :func:`definitions_from` gives one asset per
pipeline, a job and the file's schedules.

Dagster is imported when :func:`definitions_from` is first used, so ``orchestrator plugins``
(which imports this package through its entry point) stays as fast without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator_plugin_dagster.definitions import definitions_from

__all__ = ["definitions_from"]


def __getattr__(name: str) -> Any:
    """:func:`definitions_from`, imported on first use."""
    if name == "definitions_from":
        from orchestrator_plugin_dagster.definitions import definitions_from

        return definitions_from
    raise AttributeError(f"module 'orchestrator_plugin_dagster' has no attribute {name!r}")
