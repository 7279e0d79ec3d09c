"""What orchestrator-plugin-dask registers: the ``dask`` executor.

The ``dask`` entry point names this module and every ``orchestrator`` command imports it, so it
imports only the hook marker and the options schema. The executor is registered as a
``"module:Class"`` string: ``distributed`` (about half a second of imports) is loaded only when a
run actually creates a ``dask`` executor, never by ``validate``, ``plugins`` or a local run.
"""

from __future__ import annotations

from orchestrator import hookimpl
from orchestrator.plugins.registry import Register

from orchestrator_plugin_dask.schema import OPTIONS

EXECUTOR_NAME = "dask"
EXECUTOR_TARGET = "orchestrator_plugin_dask.executor:DaskExecutor"


@hookimpl
def register_executors(register: Register) -> None:
    """Register the ``dask`` executor with its options schema."""
    register(
        EXECUTOR_NAME,
        EXECUTOR_TARGET,
        schema=OPTIONS,
        description="Each pipeline as a task on a Dask cluster (a scheduler address, or a LocalCluster).",
    )
