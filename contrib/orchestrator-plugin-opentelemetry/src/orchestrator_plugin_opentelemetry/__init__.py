"""OpenTelemetry traces of pipeline-orchestrator runs: one trace per run, a span for the run, each
pipeline, phase, step and attempt, built from the run's event stream and exported with the
standard OTLP/HTTP exporter. See ``docs/plugins/contrib/opentelemetry.md``."""
