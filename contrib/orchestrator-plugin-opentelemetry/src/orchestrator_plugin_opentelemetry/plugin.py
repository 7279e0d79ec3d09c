"""The plugin's entry point, imported at every start of the orchestrator and in every worker
process. It registers the event consumer always, and offers the step hooks (:mod:`.hooks`) only in
worker processes whose environment names an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``): there no consumer runs, and elsewhere a hook call per step
would be most of what tracing costs a step.

The consumer is registered whatever the environment says because a run may ask for traces in its
own file (``telemetry: {traces: ...}``), which no process knows before the run starts; and the core
refuses such a file when no consumer of this name is registered. Its factory, :func:`start`, is
this module's: for a run that neither its file nor the environment asks to trace, it returns None
at once, so the run pays one call, no event goes to it and nothing more is imported. Installed
but not asked for, the plugin so costs its import (this module and :mod:`os`) and that call.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orchestrator import hookimpl

if TYPE_CHECKING:
    from orchestrator.consumers import RunStart
    from orchestrator.plugins.registry import Register

#: the variables that turn export on (the OTLP exporter's own: it reads them itself)
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
#: the name the consumer is registered under (``orchestrator plugins`` lists it; the core's
#: ``telemetry.traces`` check looks for it)
CONSUMER = "opentelemetry"
_TRACING = "orchestrator_plugin_opentelemetry.tracing"


def export_enabled(env: Mapping[str, str]) -> bool:
    """Whether the environment names an OTLP endpoint to send traces to."""
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


def in_worker() -> bool:
    """Whether this process was started by :mod:`multiprocessing`: a worker of the ``process``
    executor, or a Dask worker started by its nanny (the default). Looked up without importing
    :mod:`multiprocessing` where nothing did: a process that never imported it is no such worker."""
    started_by = sys.modules.get("multiprocessing")
    return started_by is not None and started_by.parent_process() is not None


def start(run: RunStart) -> Any:
    """The consumer's factory, called at the start of every run: the run's trace when its file
    (``telemetry.traces``) or the environment asks for one, or when :func:`.tracing.trace_to`
    set where spans go (which imported :mod:`.tracing`); else None, having imported nothing."""
    telemetry = run.plan.telemetry
    if (telemetry is None or telemetry.traces is None) and not export_enabled(os.environ) and _TRACING not in sys.modules:
        return None
    from orchestrator_plugin_opentelemetry.tracing import start as trace

    return trace(run)


@hookimpl
def register_event_consumers(register: Register) -> None:
    register(CONSUMER, "orchestrator_plugin_opentelemetry.plugin:start",
             description="a trace of every run, spans for pipelines, phases, steps and attempts")


if export_enabled(os.environ) and in_worker():  # in the run's own process, the consumer makes the step's span current itself
    from orchestrator_plugin_opentelemetry.hooks import after_pipeline_run, before_step_run  # noqa: F401 - offered
