"""What orchestrator-plugin-prefect registers: the ``prefect`` engine, for ``orchestrator plugins``.

Every ``orchestrator`` command imports this module through the entry point, so it imports only the
hook marker; the factory is named by a string and Prefect is never imported here.
"""

from __future__ import annotations

from orchestrator import hookimpl
from orchestrator.plugins.registry import Register


@hookimpl
def register_engines(register: Register) -> None:
    """Declare the ``prefect`` engine and its factory."""
    register(
        "prefect", "orchestrator_plugin_prefect:pipeline_flow",
        description="a flow: one task per pipeline, waiting for its depends_on; a deployment per schedule",
    )
