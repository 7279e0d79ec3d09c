"""``telemetry:`` in the config: where a file's runs send their traces.

The core only reads and checks the block; exporting is the work of a plugin
(``orchestrator-plugin-opentelemetry``), whose event consumer finds these settings on the run's
plan (:class:`orchestrator.consumers.RunStart`). The core names that plugin so that a file asking
for traces on an installation that cannot send them fails validation with a message that says
what to install, rather than running without the traces it asked for.

The header values are credentials (an API key, a token): :func:`header_values` gives them to the
plan's secrets, so they are redacted wherever the run's texts go, whichever way they were written
(but for values too short or plain to redact without garbling every text, as for the
environment's secrets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: the event consumer that exports ``telemetry.traces`` (registered by the distribution below)
TRACES_CONSUMER: Final = "opentelemetry"
#: the distribution that registers it
TRACES_DISTRIBUTION: Final = "orchestrator-plugin-opentelemetry"


@dataclass(frozen=True, slots=True)
class TraceExport:
    """``telemetry.traces``: the OTLP/HTTP collector a run's trace goes to. Each setting given
    here wins over the ``OTEL_*`` environment variable that gives the same setting."""

    #: the collector's base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes it
    endpoint: str
    #: sent with every export request; secrets (never in a repr)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: the spans' ``service.name``; None leaves it to the environment or the default
    service_name: str | None = None


@dataclass(frozen=True, slots=True)
class Telemetry:
    """``telemetry:``: what a file's runs export (traces only, so far)."""

    traces: TraceExport | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Telemetry:
        """The settings a validated ``telemetry:`` mapping describes."""
        traces = data.get("traces")
        if traces is None:
            return cls()
        return cls(TraceExport(traces["endpoint"], dict(traces.get("headers") or {}), traces.get("service_name")))


def header_values(data: Any) -> set[str]:
    """The header values of a (substituted, maybe invalid) ``telemetry:`` block: the secrets it
    holds, whether they came from ``${ENV}`` or were written in the file."""
    traces = data.get("traces") if isinstance(data, dict) else None
    headers = traces.get("headers") if isinstance(traces, dict) else None
    if not isinstance(headers, dict):
        return set()
    return {value for value in headers.values() if isinstance(value, str)}
