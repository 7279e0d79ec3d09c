"""The spans of a real run, read back from an in-memory exporter: their tree, their attributes,
their status, and the ids derived from the run. No OTLP endpoint is set here, so the entry point
offers no hook: the tests register the hooks module on the run's plugin manager themselves, as
the docs say to do for an exporter of your own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from orchestrator_plugin_opentelemetry import hooks, ids
from runs import SECRET, write_run

from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.plugins.discovery import Plugins


@pytest.fixture
def traced(tmp_path: Path, plugins: Plugins, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[ReadableSpan]]:
    """Run the test run in this process with spans going to memory: its run id and its spans."""
    monkeypatch.setenv("SHOP_API_TOKEN", SECRET)
    exporter = InMemorySpanExporter()
    hooks.trace_to(SimpleSpanProcessor(exporter))
    plugins.manager.register(hooks, name="opentelemetry-hooks")
    result = Engine(load_plan(write_run(tmp_path), plugins.registry), plugins).run_sync()
    assert {name: outcome.status for name, outcome in result.pipelines.items()} == {
        "orders": "succeeded", "broken": "failed", "nightly": "succeeded",
    }
    with sqlite3.connect(tmp_path / "out/orders.db") as db:
        assert db.execute("SELECT SUM(amount) FROM orders").fetchone() == (42,)
    return result.run_id, list(exporter.get_finished_spans())


def by_name(spans: list[ReadableSpan], name: str, pipeline: str, attempt: int = 1) -> ReadableSpan:
    [found] = [
        s for s in spans if s.name == name and (s.attributes or {}).get("orchestrator.pipeline") == pipeline
        and (s.attributes or {}).get("orchestrator.pipeline_attempt", 1) == attempt
    ]
    return found


def times(span: ReadableSpan) -> tuple[int, int]:
    """When a finished span started and ended (ns)."""
    assert span.start_time is not None and span.end_time is not None
    return span.start_time, span.end_time


def parent_of(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def test_one_trace_whose_id_is_derived_from_the_run_id(traced: tuple[str, list[ReadableSpan]]) -> None:
    run_id, spans = traced
    assert {span.context.trace_id for span in spans} == {ids.trace_id(run_id)}
    assert all(span.attributes and span.attributes["orchestrator.run_id"] == run_id for span in spans)


def test_the_span_tree_is_pipeline_phase_step(traced: tuple[str, list[ReadableSpan]]) -> None:
    run_id, spans = traced
    for name, steps in (("orders", {"extract": "fetch", "transform": "double", "load": "store"}),
                        ("broken", {"extract": "read", "transform": "explode"})):
        pipeline = by_name(spans, f"pipeline {name}", name)
        assert pipeline.parent is None
        assert pipeline.context.span_id == ids.span_id(run_id, name)
        for phase, step in steps.items():
            phase_span = by_name(spans, f"{phase} {name}", name)
            assert parent_of(phase_span) == pipeline.context.span_id
            assert phase_span.context.span_id == ids.span_id(run_id, name, phase, "1")
            step_span = by_name(spans, f"step {step}", name)
            assert parent_of(step_span) == phase_span.context.span_id
            assert step_span.context.span_id == ids.span_id(run_id, name, phase, step, "1")
            outer, middle, inner = times(pipeline), times(phase_span), times(step_span)
            assert outer[0] <= middle[0] <= inner[0] <= inner[1] <= middle[1] <= outer[1]
    # the failing transform ended the broken pipeline before its load started; nightly ran twice
    assert len(spans) == (1 + 3 + 3) + (1 + 2 + 2) + (1 + 2 * (2 + 2))


def test_a_succeeded_pipeline_has_its_attributes_and_no_error(traced: tuple[str, list[ReadableSpan]]) -> None:
    _, spans = traced
    store = by_name(spans, "step store", "orders")
    assert dict(store.attributes or {}) == {
        "orchestrator.run_id": traced[0], "orchestrator.pipeline": "orders", "orchestrator.phase": "load",
        "orchestrator.step": "store", "orchestrator.plugin": "sqlite.write", "orchestrator.rows": 3,
        "orchestrator.status": "succeeded", "orchestrator.pipeline_attempt": 1,
    }
    retried = by_name(spans, "step fetch", "orders")
    assert (retried.attributes or {})["orchestrator.rows"] == 3
    assert all(s.status.status_code == StatusCode.UNSET for s in spans if (s.attributes or {})["orchestrator.pipeline"] == "orders")


def test_a_failing_step_marks_its_step_phase_and_pipeline_as_errors(traced: tuple[str, list[ReadableSpan]]) -> None:
    _, spans = traced
    explode = by_name(spans, "step explode", "broken")
    attributes = dict(explode.attributes or {})
    assert explode.status.status_code == StatusCode.ERROR
    assert attributes["orchestrator.status"] == "failed"
    assert attributes["error.type"] == "ValueError"
    assert attributes["orchestrator.error"] == "ValueError: upstream refused token ***"
    assert attributes["orchestrator.attempts"] == 2
    assert [event.name for event in explode.events] == ["retry_exhausted", "exception"]
    assert all(SECRET not in str(value) for span in spans for value in (span.attributes or {}).values())
    assert all(SECRET not in str(dict(event.attributes or {})) for span in spans for event in span.events)
    pipeline = by_name(spans, "pipeline broken", "broken")
    assert pipeline.status.status_code == StatusCode.ERROR
    assert (pipeline.attributes or {})["error.type"] == "StepFailure"
    assert "upstream refused token ***" in str((pipeline.attributes or {})["orchestrator.error"])
    assert by_name(spans, "transform broken", "broken").status.status_code == StatusCode.ERROR
    assert by_name(spans, "extract broken", "broken").status.status_code == StatusCode.UNSET


def test_a_pipeline_run_again_by_its_own_retry_has_its_phases_and_steps_once_per_attempt(
    traced: tuple[str, list[ReadableSpan]],
) -> None:
    run_id, spans = traced
    pipeline = by_name(spans, "pipeline nightly", "nightly")
    assert pipeline.status.status_code == StatusCode.UNSET  # it succeeded in the end
    for attempt, status in ((1, "failed"), (2, "succeeded")):
        load = by_name(spans, "load nightly", "nightly", attempt)
        keep = by_name(spans, "step keep", "nightly", attempt)
        assert load.context.span_id == ids.span_id(run_id, "nightly", "load", str(attempt))
        assert parent_of(load) == pipeline.context.span_id and parent_of(keep) == load.context.span_id
        assert (keep.attributes or {})["orchestrator.status"] == status
    assert (by_name(spans, "step keep", "nightly", 1).attributes or {})["orchestrator.error"] == "OSError: disk full"
    assert times(by_name(spans, "load nightly", "nightly", 1))[1] <= times(by_name(spans, "extract nightly", "nightly", 2))[0]
