"""The process's tracing: where each run's spans go, and the consumer of one run.

:func:`start` is called by the entry point's factory (:func:`.plugin.start`) for a run that asks
for a trace. The OpenTelemetry SDK is loaded then, at the first such run (``validate`` and
``plugins`` never pay for it). Where the spans go, first that applies:

1. what :func:`trace_to` set (a test, an exporter of your own), for every run of the process;
2. the run file's ``telemetry.traces`` (endpoint, headers, service name), each setting winning
   over the environment variable that gives the same setting, as OpenTelemetry's own rule has
   arguments given in code win over the variables;
3. the environment's ``OTEL_EXPORTER_OTLP_*`` variables alone.

One tracer is kept per destination, made at its first run: the runs of one process (``orchestrator
serve``) that name the same collector share its batch processor, and files naming different ones
each get their own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from orchestrator.config.model import Plan
    from orchestrator.config.telemetry import TraceExport
    from orchestrator.consumers import RunStart
    from orchestrator.plugins.discovery import Plugins
    from orchestrator_plugin_opentelemetry.spans import RunTrace, Tracer

#: the destination of a file's ``telemetry.traces`` (None: the environment's)
_Destination = tuple[str, tuple[tuple[str, str], ...], str | None] | None

#: what :func:`trace_to` set, for every run
_chosen: Tracer | None = None
#: the tracer of each destination asked for so far; None where the environment turned export off
_tracers: dict[_Destination, Tracer | None] = {}


def start(run: RunStart) -> RunTrace | None:
    """The consumer of one run: the run's spans, or None when nothing asks for them or the
    sampler drops the run."""
    tracer = _tracer_for(run.plan)
    if tracer is None:
        return None
    from orchestrator_plugin_opentelemetry.spans import run_trace

    return run_trace(tracer, run)


def _tracer_for(plan: Plan) -> Tracer | None:
    if _chosen is not None:
        return _chosen
    traces = plan.telemetry.traces if plan.telemetry is not None else None
    destination = _destination(traces)
    if destination not in _tracers:
        from orchestrator_plugin_opentelemetry.plugin import export_enabled

        if traces is None and not export_enabled(os.environ):
            _tracers[destination] = None
        else:
            from orchestrator_plugin_opentelemetry.exporting import otlp_processor
            from orchestrator_plugin_opentelemetry.spans import Tracer

            _tracers[destination] = Tracer(otlp_processor(os.environ, traces), None if traces is None else traces.service_name)
    return _tracers[destination]


def _destination(traces: TraceExport | None) -> _Destination:
    if traces is None:
        return None
    return traces.endpoint, tuple(sorted(traces.headers.items())), traces.service_name


def trace_to(processor: SpanProcessor, plugins: Plugins | None = None) -> Tracer:
    """Send this process's spans through ``processor`` from now on, whatever the environment or
    a run's file says (an in-memory exporter in tests, another exporter of your own), ending the
    tracing that was in place (flushing what it held). With ``plugins``, the plugin's event
    consumer is added to them too (unless the entry point registered it already)."""
    global _chosen
    from orchestrator_plugin_opentelemetry.spans import Tracer

    reset()
    _chosen = Tracer(processor)
    if plugins is not None:
        from orchestrator.plugins.registry import CONSUMER, Origin
        from orchestrator_plugin_opentelemetry import hooks, plugin

        if plugins.registry.get(CONSUMER, plugin.CONSUMER) is None:
            plugins.add(hooks.RunProcess(), Origin("opentelemetry-traces", "orchestrator-plugin-opentelemetry", "local"))
    return _chosen


def reset() -> None:
    """Forget the process's tracing (ending it): the next run looks at its file and the
    environment again."""
    global _chosen
    for tracer in [_chosen, *_tracers.values()]:
        if tracer is not None:
            tracer.shutdown()
    _chosen = None
    _tracers.clear()
