"""docs/plugins/contrib/opentelemetry.md keeps its promises: its example config runs through the
CLI and exports the span tree the page shows to a real OTLP/HTTP receiver (named by the
environment, or by the file; docs/monitoring.md's traced file too), its attributes table
lists the attributes a run's spans carry, and its console-exporter program runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from orchestrator_plugin_opentelemetry import tracing
from otlp_receiver import OtlpReceiver, ReceivedSpan
from runs import SECRET, write_run

from orchestrator.config.plan import load_plan
from orchestrator.events import discard
from orchestrator.launch import Launch, launched
from orchestrator.plugins.discovery import Plugins

PAGE = Path(__file__).resolve().parents[3] / "docs" / "plugins" / "contrib" / "opentelemetry.md"
MONITORING = Path(__file__).resolve().parents[3] / "docs" / "monitoring.md"
TITLED = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)
TEXT = re.compile(r"^```text\n(.*?)^```$", re.MULTILINE | re.DOTALL)
ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")


@pytest.fixture
def page_files(tmp_path: Path) -> Path:
    """Every titled block of the page, written as the file it names."""
    for _, name, text in TITLED.findall(PAGE.read_text(encoding="utf-8")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def shown_tree() -> str:
    blocks: list[str] = TEXT.findall(PAGE.read_text(encoding="utf-8"))
    [tree] = [block for block in blocks if block.startswith("run ")]
    return tree


def tree_of(spans: list[ReceivedSpan]) -> str:
    """The spans indented under their parents, children in the order they started."""
    children: dict[str, list[ReceivedSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start):
        children.setdefault(span.parent_span_id, []).append(span)

    def lines(parent: str, depth: int) -> list[str]:
        return [line for span in children.get(parent, [])
                for line in ["  " * depth + span.name, *lines(span.span_id, depth + 1)]]

    return "\n".join(lines("", 0)) + "\n"


def test_the_example_exports_the_span_tree_the_page_shows(page_files: Path, receiver: OtlpReceiver) -> None:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    ran = subprocess.run(
        [str(ORCHESTRATOR), "run", "pipeline.yaml"], capture_output=True, text=True, timeout=120, check=False,
        cwd=page_files, env=env,
    )
    assert ran.returncode == 0, ran.stderr
    assert tree_of(receiver.spans) == shown_tree()
    assert len({span.trace_id for span in receiver.spans}) == 1


def at(receiver: OtlpReceiver, config: Path) -> None:
    """Point the file's collector, ``http://localhost:4318`` on the pages, at ``receiver``."""
    config.write_text(config.read_text(encoding="utf-8").replace("http://localhost:4318", receiver.url), encoding="utf-8")


def without_endpoint() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}


def test_the_file_that_names_its_collector_exports_the_same_tree(page_files: Path, receiver: OtlpReceiver) -> None:
    at(receiver, page_files / "traced.yaml")
    ran = subprocess.run(
        [str(ORCHESTRATOR), "run", "traced.yaml"], capture_output=True, text=True, timeout=120, check=False,
        cwd=page_files, env=without_endpoint(),
    )
    assert ran.returncode == 0, ran.stderr
    assert tree_of(receiver.spans).replace("run traced.yaml", "run pipeline.yaml", 1) == shown_tree()
    assert {span.resource["service.name"] for span in receiver.spans} == {"customers-etl"}


def test_the_monitoring_page_example_exports_with_its_header_and_service(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """docs/monitoring.md's traced.yaml (which the core's docs test shows refused without this
    plugin) sends its run's spans with its header, its key never shown."""
    for _, name, text in TITLED.findall(MONITORING.read_text(encoding="utf-8")):
        if name in ("traced.yaml", "data/customers.csv"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text, encoding="utf-8")
    at(receiver, tmp_path / "traced.yaml")
    ran = subprocess.run(
        [str(ORCHESTRATOR), "run", "traced.yaml"], capture_output=True, text=True, timeout=120, check=False,
        cwd=tmp_path, env={**without_endpoint(), "OTLP_API_KEY": "k-5d41402abc"},
    )
    assert ran.returncode == 0, ran.stderr
    assert "k-5d41402abc" not in ran.stdout + ran.stderr
    assert {span.name for span in receiver.spans} >= {"run traced.yaml", "pipeline customers", "step raw", "step store"}
    assert {span.resource["service.name"] for span in receiver.spans} == {"nightly-etl"}
    assert receiver.headers and all(h["x-api-key"] == "k-5d41402abc" for h in receiver.headers)


def test_the_attributes_table_lists_what_spans_carry(
    tmp_path: Path, plugins: Plugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test run has a retried step, a failing step that runs out of attempts and a pipeline
    run twice by its own retry: between them every attribute appears, but those of a step that
    rejects rows and of a resumed run."""
    monkeypatch.setenv("SHOP_API_TOKEN", SECRET)
    exporter = InMemorySpanExporter()
    tracing.trace_to(SimpleSpanProcessor(exporter), plugins)
    config = write_run(tmp_path)
    with launched(load_plan(config, plugins.registry), plugins, Launch(str(config))) as run:
        anyio.run(run.start, discard)
    carried = {key for span in exporter.get_finished_spans() for key in (span.attributes or {})}
    table = PAGE.read_text(encoding="utf-8").split("### Attributes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([\w.]+)` \|", table, re.MULTILINE))
    assert documented - carried == {"orchestrator.rejected", "orchestrator.reused"}
    assert carried <= documented


def test_the_console_exporter_program_runs(page_files: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    ran = subprocess.run(
        [sys.executable, "trace_to_console.py"], capture_output=True, text=True, timeout=120, check=False,
        cwd=page_files, env=env,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.count('"name": "pipeline customers"') == 1
    assert ran.stdout.count('"name": "step store"') == 2
    assert ran.stdout.rstrip().endswith("{'customers': 'succeeded', 'countries': 'succeeded'}")
