"""OpenTelemetry traces of pipeline-orchestrator runs: one trace per run, a span per pipeline,
phase and step, exported with the standard OTLP/HTTP exporter. See
``docs/plugins/contrib/opentelemetry.md``."""
