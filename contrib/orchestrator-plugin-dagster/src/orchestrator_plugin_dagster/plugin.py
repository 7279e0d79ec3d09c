"""What orchestrator-plugin-dagster registers: the ``dagster`` engine, for ``orchestrator plugins``.

Every ``orchestrator`` command imports this module through the entry point, so it imports only the
hook marker; the factory is named by a string and Dagster is never imported here.
"""

from __future__ import annotations

from orchestrator import hookimpl
from orchestrator.plugins.registry import Register


@hookimpl
def register_engines(register: Register) -> None:
    """Declare the ``dagster`` engine and its factory."""
    register(
        "dagster", "orchestrator_plugin_dagster:definitions_from",
        description="definitions: one asset per pipeline, deps from depends_on, a job and a schedule per schedule:",
    )
