"""What orchestrator-plugin-http registers: the ``http.get`` extract step.

The ``http`` entry point names this module, and every ``orchestrator`` command imports it, so it
imports only the hook marker and the args schema (plain data). The step is registered as a
``"module:function"`` string: httpx and the step's code are imported the first time a pipeline
runs it, never by ``validate``, ``plugins`` or ``schema``.
"""

from __future__ import annotations

from orchestrator import hookimpl
from orchestrator.plugins.registry import Register

from orchestrator_plugin_http.schema import GET_ARGS

STEP_NAME = "http.get"
STEP_TARGET = "orchestrator_plugin_http.steps:get"


@hookimpl
def register_extractors(register: Register) -> None:
    """Register ``http.get`` under the extract phase, with its args schema."""
    register(
        STEP_NAME,
        STEP_TARGET,
        schema=GET_ARGS,
        description="GET a JSON API, one batch of records per page (pagination, retries, rate limit).",
    )
