"""``telemetry:`` in the config: read into the plan for the plugin that exports traces, its header
values treated as secrets however they were written, and a file asking for traces refused where
no plugin registers the consumer that exports them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator import hookimpl
from orchestrator.config.plan import load_plan
from orchestrator.config.telemetry import TRACES_CONSUMER
from orchestrator.errors import ConfigError
from orchestrator.plugins.discovery import Plugins
from orchestrator.plugins.registry import Origin

CONFIG = """\
telemetry:
  traces:
    endpoint: "${OTLP_ENDPOINT}"
    headers: {x-api-key: "${VENDOR_INGEST}", x-tenant: tenant-6a0c55e1, x-short: ab}
    service_name: nightly-etl
pipelines:
  customers:
    type: ETL
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: data/customers.csv}}]}
      load: {steps: [{plugin: csv.write, args: {path: out/customers.csv}}]}
"""
ENV = {"OTLP_ENDPOINT": "https://collector.example.com:4318", "VENDOR_INGEST": "ingest-0f1e2d3c4b"}


class Traces:
    """A plugin that registers the consumer ``telemetry.traces`` needs (one declining every run)."""

    @staticmethod
    @hookimpl
    def register_event_consumers(register: Callable[..., None]) -> None:
        register(TRACES_CONSUMER, lambda run: None)


@pytest.fixture
def traced(plugins: Plugins) -> Plugins:
    assert plugins.add(Traces(), Origin("traces", "tests", "0"))
    return plugins


def test_the_plan_holds_the_substituted_settings_and_the_headers_as_secrets(
    write_config: Callable[..., Path], traced: Plugins
) -> None:
    plan = load_plan(write_config(CONFIG), traced.registry, env=ENV)
    assert plan.telemetry is not None and plan.telemetry.traces is not None
    traces = plan.telemetry.traces
    assert traces.endpoint == "https://collector.example.com:4318" and traces.service_name == "nightly-etl"
    assert dict(traces.headers) == {"x-api-key": "ingest-0f1e2d3c4b", "x-tenant": "tenant-6a0c55e1", "x-short": "ab"}
    # a header value is a secret whatever its variable is called, or if it is written in the file;
    # but not one too short to redact without garbling every text
    assert {"ingest-0f1e2d3c4b", "tenant-6a0c55e1"} <= plan.secrets and "ab" not in plan.secrets
    assert "ingest-0f1e2d3c4b" not in repr(plan.telemetry) and "tenant-6a0c55e1" not in repr(plan.telemetry)


def test_without_telemetry_the_plan_has_none(write_config: Callable[..., Path], traced: Plugins) -> None:
    plan = load_plan(write_config(CONFIG[CONFIG.index("pipelines:"):]), traced.registry, env=ENV)
    assert plan.telemetry is None


def test_a_problem_quoting_a_header_value_hides_it(write_config: Callable[..., Path], traced: Plugins) -> None:
    text = CONFIG.replace("service_name: nightly-etl", "service_name: nightly-etl\n    endpoints: tenant-6a0c55e1")
    with pytest.raises(ConfigError) as raised:
        load_plan(write_config(text), traced.registry, env=ENV)
    shown = str(raised.value)
    assert "unknown key 'endpoints'" in shown and "tenant-6a0c55e1" not in shown


@pytest.mark.parametrize(("change", "expected"), [
    ({}, "traces are configured, but the orchestrator-plugin-opentelemetry distribution that exports them is not installed"),
    ({"OTLP_ENDPOINT": "collector:4318"}, "'collector:4318' does not have the expected form"),
])
def test_refused(write_config: Callable[..., Path], plugins: Plugins, change: dict[str, Any], expected: str) -> None:
    """Only the built-in plugins: no consumer exports traces, and a bad endpoint is said alone."""
    with pytest.raises(ConfigError) as raised:
        load_plan(write_config(CONFIG), plugins.registry, env={**ENV, **change})
    assert [problem.message for problem in raised.value.problems if expected in problem.message]
    assert len(raised.value.problems) == 1
