"""The spans of a real run, read back from an in-memory exporter: the tree (run, pipelines,
phases, steps, attempts), attributes, statuses, on the ``local`` and the ``process`` executor;
and a span that a step's own code creates in a ``process`` worker is a child of its step's span.

No OTLP endpoint is set in this process, nor in the runs' files, so the entry point offered no
step hook and its consumer would decline the runs: the tests send the spans to memory with
``tracing.trace_to`` (which adds the plugin's hooks to the run's plugins where the entry point is
not loaded), as the docs say to do for an exporter of your own. The run is started as ``orchestrator run`` starts
one (:mod:`orchestrator.launch`), the place where event consumers are put on the stream."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import anyio
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from orchestrator_plugin_opentelemetry import ids, tracing
from runs import SECRET, write_calling_run, write_run

from orchestrator.config.plan import load_plan
from orchestrator.events import RunResult, discard
from orchestrator.launch import Launch, launched
from orchestrator.plugins.discovery import Plugins, load_plugins


def launch(config: Path, plugins: Plugins) -> RunResult:
    with launched(load_plan(config, plugins.registry), plugins, Launch(str(config))) as run:
        return anyio.run(run.start, discard)


@pytest.fixture(params=["local", "process"])
def traced(request: pytest.FixtureRequest, tmp_path: Path, plugins: Plugins, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[ReadableSpan]]:
    """Run the test run with spans going to memory: its run id and its spans."""
    monkeypatch.setenv("SHOP_API_TOKEN", SECRET)
    exporter = InMemorySpanExporter()
    tracing.trace_to(SimpleSpanProcessor(exporter), plugins)
    result = launch(write_run(tmp_path, executor=request.param), plugins)
    assert {name: outcome.status for name, outcome in result.pipelines.items()} == {
        "orders": "succeeded", "broken": "failed", "nightly": "succeeded",
    }
    with sqlite3.connect(tmp_path / "out/orders.db") as db:
        assert db.execute("SELECT SUM(amount) FROM orders").fetchone() == (42,)
    return result.run_id, list(exporter.get_finished_spans())


def tree_of(spans: list[ReadableSpan]) -> list[str]:
    """The span names indented under their parents, children in the order they started, a
    pipeline's subtree at a time (pipelines run at the same time, in any order)."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: (s.start_time or 0, s.name)):
        children.setdefault(None if span.parent is None else span.parent.span_id, []).append(span)

    def lines(parent: int | None, depth: int) -> list[str]:
        return [line for span in children.get(parent, [])
                for line in ["  " * depth + span.name, *lines(span.context.span_id, depth + 1)]]

    [root] = children[None]
    pipelines = children[root.context.span_id]
    return [root.name, *sorted("\n".join([p.name, *lines(p.context.span_id, 2)]) for p in pipelines)]


def named(spans: list[ReadableSpan], name: str, pipeline: str, attempt: int = 1) -> ReadableSpan:
    [found] = [
        s for s in spans if s.name == name and (s.attributes or {}).get("orchestrator.pipeline") == pipeline
        and (s.attributes or {}).get("orchestrator.pipeline_attempt", 1) == attempt
    ]
    return found


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return sorted((s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id),
                  key=lambda s: s.start_time or 0)


def test_one_trace_under_one_run_span(traced: tuple[str, list[ReadableSpan]]) -> None:
    run_id, spans = traced
    [run] = [span for span in spans if span.parent is None]
    assert run.name == "run pipeline.yaml"
    assert {span.context.trace_id for span in spans} == {run.context.trace_id}
    assert all((span.attributes or {})["orchestrator.run_id"] == run_id for span in spans)
    assert run.status.status_code == StatusCode.ERROR and (run.attributes or {})["orchestrator.status"] == "failed"
    assert all((run.start_time or 0) <= (s.start_time or 0) <= (s.end_time or 0) <= (run.end_time or 0) for s in spans)


def test_the_tree_is_run_pipeline_phase_step_attempt(traced: tuple[str, list[ReadableSpan]]) -> None:
    _, spans = traced
    assert tree_of(spans) == [
        "run pipeline.yaml",
        ("pipeline broken\n    extract broken\n      step read\n        attempt 1\n    transform broken\n      step explode\n"
        "        attempt 1\n        attempt 2"),
        ("pipeline nightly\n    extract nightly\n      step pull\n        attempt 1\n    load nightly\n      step keep\n"
        "        attempt 1\n    extract nightly\n      step pull\n        attempt 1\n    load nightly\n      step keep\n"
        "        attempt 1"),
        ("pipeline orders\n    extract orders\n      step fetch\n        attempt 1\n        attempt 2\n    transform orders\n"
        "      step double\n        attempt 1\n    load orders\n      step store\n        attempt 1"),
    ]


def test_a_retried_step_has_an_attempt_span_per_attempt(traced: tuple[str, list[ReadableSpan]]) -> None:
    run_id, spans = traced
    fetch = named(spans, "step fetch", "orders")
    first, second = children(spans, fetch)
    assert first.status.status_code == StatusCode.ERROR
    assert dict(first.attributes or {}) == {
        "orchestrator.run_id": run_id, "orchestrator.pipeline": "orders", "orchestrator.step": "fetch",
        "orchestrator.attempt": 1, "orchestrator.status": "failed", "error.type": "ConnectionError",
        "orchestrator.error": "ConnectionError: connection reset",
    }
    assert second.status.status_code == StatusCode.UNSET and (second.attributes or {})["orchestrator.attempt"] == 2
    assert (first.end_time or 0) <= (second.start_time or 0)
    assert fetch.status.status_code == StatusCode.UNSET
    assert dict(fetch.attributes or {}) == {
        "orchestrator.run_id": run_id, "orchestrator.pipeline": "orders", "orchestrator.phase": "extract",
        "orchestrator.step": "fetch", "orchestrator.plugin": "python.call", "orchestrator.pipeline_attempt": 1,
        "orchestrator.rows": 3, "orchestrator.attempts": 2, "orchestrator.status": "succeeded",
    }
    store = named(spans, "step store", "orders")
    assert (store.attributes or {})["orchestrator.rows_in"] == 3 and (store.attributes or {})["orchestrator.rows"] == 3


def test_a_failing_step_marks_its_attempts_step_phase_pipeline_and_run_as_errors(traced: tuple[str, list[ReadableSpan]]) -> None:
    _, spans = traced
    explode = named(spans, "step explode", "broken")
    attributes = dict(explode.attributes or {})
    assert explode.status.status_code == StatusCode.ERROR
    assert attributes["orchestrator.status"] == "failed" and attributes["error.type"] == "ValueError"
    assert attributes["orchestrator.error"] == "ValueError: upstream refused token ***"
    assert attributes["orchestrator.attempts"] == 2
    assert [event.name for event in explode.events] == ["retry_exhausted", "exception"]
    assert [a.status.status_code for a in children(spans, explode)] == [StatusCode.ERROR, StatusCode.ERROR]
    assert all(SECRET not in str(dict(span.attributes or {})) for span in spans)
    assert all(SECRET not in str(dict(event.attributes or {})) for span in spans for event in span.events)
    pipeline = named(spans, "pipeline broken", "broken")
    assert pipeline.status.status_code == StatusCode.ERROR
    assert (pipeline.attributes or {})["error.type"] == "ValueError"
    assert "upstream refused token ***" in str((pipeline.attributes or {})["orchestrator.error"])
    assert named(spans, "transform broken", "broken").status.status_code == StatusCode.ERROR
    assert named(spans, "extract broken", "broken").status.status_code == StatusCode.UNSET


def test_a_pipeline_run_again_by_its_own_retry_has_its_phases_and_steps_once_per_attempt(
    traced: tuple[str, list[ReadableSpan]],
) -> None:
    _, spans = traced
    pipeline = named(spans, "pipeline nightly", "nightly")
    assert pipeline.status.status_code == StatusCode.UNSET and (pipeline.attributes or {})["orchestrator.attempts"] == 2
    assert [event.name for event in pipeline.events] == ["retry"]
    for attempt, status in ((1, "failed"), (2, "succeeded")):
        load, keep = named(spans, "load nightly", "nightly", attempt), named(spans, "step keep", "nightly", attempt)
        assert children(spans, pipeline).count(load) == 1 and children(spans, load) == [keep]
        assert (keep.attributes or {})["orchestrator.status"] == status
    assert (named(spans, "step keep", "nightly", 1).attributes or {})["orchestrator.error"] == "OSError: disk full"


@pytest.mark.parametrize("executor", ["local", "process, workers: 1", "dask, workers: 1, processes: true"])
def test_a_span_made_by_step_code_is_a_child_of_the_step_span_wherever_it_runs(
    tmp_path: Path, plugins: Plugins, monkeypatch: pytest.MonkeyPatch, executor: str
) -> None:
    """The worker's hooks (the entry point offers them there: the worker inherits the endpoint
    variable) make the step's span current while the step runs, from the ``traceparent`` the job
    carried; the step's own tracer provider then parents its span under it. In the run's own
    process (``local``: the step's thread inherits the context), on a ``process`` worker, and on
    a worker process of the ``dask`` executor's LocalCluster."""
    if executor.startswith("dask"):
        pytest.importorskip("orchestrator_plugin_dask")
        monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", "builtin,opentelemetry,dask")
        plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin,opentelemetry,dask"})
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # read by workers only (trace_to wins here)
    exporter = InMemorySpanExporter()
    tracing.trace_to(SimpleSpanProcessor(exporter), plugins)
    result = launch(write_calling_run(tmp_path, executor), plugins)
    assert result.ok, result.pipelines
    made = json.loads((tmp_path / "span.json").read_text())
    spans = list(exporter.get_finished_spans())
    step = named(spans, "step call_out", "calling")
    assert (made["pid"] != os.getpid()) == (executor != "local")  # it ran in a worker, or here
    assert made["trace_id"] == step.context.trace_id
    assert made["parent"] == step.context.span_id
    [run] = [span for span in spans if span.parent is None]
    assert step.context.trace_id == run.context.trace_id


def test_the_step_span_id_is_the_one_derived_from_the_traceparent_and_the_place() -> None:
    traceparent = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    first = ids.step_span_id(traceparent, "orders", "extract", "fetch", 1)
    assert first == ids.step_span_id(traceparent, "orders", "extract", "fetch", 1) != 0
    assert first != ids.step_span_id(traceparent, "orders", "extract", "fetch", 2)
    assert ids.step_span_id(traceparent, "ab", "c", "d", 1) != ids.step_span_id(traceparent, "a", "bc", "d", 1)
