"""Where spans go: a private tracer provider (the resource, the sampler and the flush at exit the
environment configures, the service name a run's file may give), and the OTLP/HTTP exporter
behind a batch processor (its endpoint and headers from the file or the environment).

The provider is the plugin's own, never installed as OpenTelemetry's global one: an application
or a step that set up OpenTelemetry for itself keeps its provider, and this plugin's spans do not
end up in it by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

if TYPE_CHECKING:
    from orchestrator.config.telemetry import TraceExport

#: the OTLP/HTTP path of traces, added to a base URL
TRACES_PATH = "/v1/traces"
_TIMEOUT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")

#: the spans' ``service.name`` unless ``OTEL_SERVICE_NAME`` or ``OTEL_RESOURCE_ATTRIBUTES`` names one
DEFAULT_SERVICE_NAME = "pipeline-orchestrator"

#: the longest a flush (the end of a run, a worker's exit) may hold the process up, in seconds;
#: also each export request's timeout unless an ``OTEL_EXPORTER_OTLP_*TIMEOUT`` variable says
FLUSH_SECONDS = 5.0


def provider(processor: SpanProcessor, service_name: str | None = None) -> TracerProvider:
    """A tracer provider sending spans through ``processor``. Its resource says which service
    and which process made them: ``service_name`` (from the run's file) wins over
    ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``, which win over the default. It shuts
    down at the process's exit, which flushes what a worker still holds."""
    resource = Resource.create({"process.pid": os.getpid()})
    if service_name is not None:
        resource = resource.merge(Resource({"service.name": service_name}))
    elif str(resource.attributes.get("service.name", "")).startswith("unknown_service"):  # the SDK's placeholder
        resource = resource.merge(Resource({"service.name": DEFAULT_SERVICE_NAME}))
    traced = TracerProvider(resource=resource, shutdown_on_exit=True)
    traced.add_span_processor(processor)
    return traced


def otlp_processor(env: Mapping[str, str], traces: TraceExport | None = None) -> BatchSpanProcessor:
    """The standard OTLP/HTTP exporter behind a batch processor, so a hook only queues its span
    and the export happens on the processor's thread. Its endpoint and headers are those of
    ``traces`` (a file's ``telemetry.traces``) where it gives them: the exporter takes arguments
    over its own ``OTEL_EXPORTER_OTLP_*`` variables (and adds argument headers to the variables'
    ones, winning for a header both name); everything else (compression, certificates, a
    timeout) still comes from the variables."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    timeout = None if any(env.get(name) for name in _TIMEOUT_VARIABLES) else FLUSH_SECONDS
    if traces is None:
        exporter: SpanExporter = OTLPSpanExporter(timeout=timeout)
    else:
        exporter = OTLPSpanExporter(endpoint=traces_url(traces.endpoint), headers=dict(traces.headers) or None, timeout=timeout)
    return BatchSpanProcessor(exporter, export_timeout_millis=int(FLUSH_SECONDS * 1000))


def traces_url(endpoint: str) -> str:
    """The URL spans are posted to, from a base URL as ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes it
    (the signal's path added), or one that already names the traces path (used as it is)."""
    if endpoint.rstrip("/").endswith(TRACES_PATH):
        return endpoint
    return endpoint.rstrip("/") + TRACES_PATH
