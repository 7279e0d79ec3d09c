"""Where spans go: a private tracer provider (the resource, the sampler and the flush at exit the
environment configures), and the OTLP/HTTP exporter behind a batch processor.

The provider is the plugin's own, never installed as OpenTelemetry's global one: an application
or a step that set up OpenTelemetry for itself keeps its provider, and this plugin's spans do not
end up in it by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

_TIMEOUT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")

#: the spans' ``service.name`` unless ``OTEL_SERVICE_NAME`` or ``OTEL_RESOURCE_ATTRIBUTES`` names one
DEFAULT_SERVICE_NAME = "pipeline-orchestrator"

#: the longest a flush (the end of a run, a worker's exit) may hold the process up, in seconds;
#: also each export request's timeout unless an ``OTEL_EXPORTER_OTLP_*TIMEOUT`` variable says
FLUSH_SECONDS = 5.0


def provider(processor: SpanProcessor) -> TracerProvider:
    """A tracer provider sending spans through ``processor``. Its resource says which service
    and which process made them (``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` win over
    the defaults). It shuts down at the process's exit, which flushes what a worker still holds."""
    resource = Resource.create({"process.pid": os.getpid()})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):  # the SDK's placeholder
        resource = resource.merge(Resource({"service.name": DEFAULT_SERVICE_NAME}))
    traced = TracerProvider(resource=resource, shutdown_on_exit=True)
    traced.add_span_processor(processor)
    return traced


def otlp_processor(env: Mapping[str, str]) -> BatchSpanProcessor:
    """The standard OTLP/HTTP exporter (endpoint, headers, compression and certificates from its
    own ``OTEL_EXPORTER_OTLP_*`` variables) behind a batch processor, so a hook only queues its
    span and the export happens on the processor's thread."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    timeout = None if any(env.get(name) for name in _TIMEOUT_VARIABLES) else FLUSH_SECONDS
    exporter: SpanExporter = OTLPSpanExporter(timeout=timeout)
    return BatchSpanProcessor(exporter, export_timeout_millis=int(FLUSH_SECONDS * 1000))
