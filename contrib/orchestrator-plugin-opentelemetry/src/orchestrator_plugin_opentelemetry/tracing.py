"""The process's tracing: where spans go, decided once, and the event consumer's factory.

The consumer (:func:`start`) is called at the start of every run in the run's process. The
OpenTelemetry SDK is loaded then, at the first run (``validate`` and ``plugins`` never pay for
it), with the standard OTLP/HTTP exporter the environment configures; :func:`trace_to` sends
the spans elsewhere, for a test or an exporter of your own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from orchestrator.consumers import RunStart
    from orchestrator.plugins.discovery import Plugins
    from orchestrator_plugin_opentelemetry.spans import RunTrace, Tracer

_UNDECIDED: Any = object()
#: the process's tracer: undecided until the first run, then a Tracer or None (export off)
_tracer: Tracer | None = _UNDECIDED


def start(run: RunStart) -> RunTrace | None:
    """The event consumer of one run (``register_event_consumers``): the run's spans, or None
    when this process exports no traces or the sampler drops the run."""
    tracer = _active()
    if tracer is None:
        return None
    from orchestrator_plugin_opentelemetry.spans import run_trace

    return run_trace(tracer, run)


def _active() -> Tracer | None:
    global _tracer
    if _tracer is _UNDECIDED:
        from orchestrator_plugin_opentelemetry.plugin import export_enabled

        if export_enabled(os.environ):
            from orchestrator_plugin_opentelemetry.exporting import otlp_processor

            trace_to(otlp_processor(os.environ))
        else:
            _tracer = None
    return _tracer


def trace_to(processor: SpanProcessor, plugins: Plugins | None = None) -> Tracer:
    """Send this process's spans through ``processor`` from now on, whatever the environment
    says (an in-memory exporter in tests, another exporter of your own), ending the tracing that
    was in place (flushing what it held). With ``plugins``, the plugin's event consumer is added
    to them too (unless the entry point registered it already)."""
    global _tracer
    from orchestrator_plugin_opentelemetry.spans import Tracer

    reset()
    _tracer = Tracer(processor)
    if plugins is not None:
        from orchestrator.plugins.registry import CONSUMER, Origin
        from orchestrator_plugin_opentelemetry import hooks

        if plugins.registry.get(CONSUMER, hooks.CONSUMER) is None:
            plugins.add(hooks.RunProcess(), Origin("opentelemetry-traces", "orchestrator-plugin-opentelemetry", "local"))
    return _tracer


def reset() -> None:
    """Forget the process's tracing (ending it): the next run looks at the environment again."""
    global _tracer
    if _tracer is not _UNDECIDED and _tracer is not None:
        _tracer.shutdown()
    _tracer = _UNDECIDED
