"""Real export: ``orchestrator run`` in a subprocess with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at
a real OTLP/HTTP receiver on 127.0.0.1, on the ``local``, ``process`` and ``dask`` executors; and a run
whose collector is down is not held up for longer than the flush bound."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from orchestrator_plugin_opentelemetry.exporting import FLUSH_SECONDS
from otlp_receiver import OtlpReceiver, ReceivedSpan
from runs import SECRET, write_run

ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")


@dataclass
class Ran:
    """A finished ``orchestrator run``: its process id, run id and error output."""

    pid: int
    run_id: str
    stderr: str


def run_cli(config: Path, endpoint: str, **env: str) -> Ran:
    """``orchestrator run --json`` of ``config`` in a subprocess exporting to ``endpoint``, with
    ``env`` added to its environment."""
    process = subprocess.Popen(
        [str(ORCHESTRATOR), "run", "--json", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=config.parent, env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "SHOP_API_TOKEN": SECRET, **env},
    )
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr  # the broken pipeline fails the run
    [run_id] = {json.loads(line)["run_id"] for line in stdout.splitlines() if line.startswith("{")}
    return Ran(process.pid, run_id, stderr)


def named(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    [found] = [span for span in spans if span.name == name]
    return found


def check_the_run_trace(spans: list[ReceivedSpan], run_id: str, service: str = "pipeline-orchestrator") -> None:
    """What every exported run must show: one trace under the run's span; the tree; the
    failure; no secret."""
    [run] = [span for span in spans if span.parent_span_id == ""]
    assert run.name == "run pipeline.yaml" and run.attributes["orchestrator.run_id"] == run_id
    assert {span.trace_id for span in spans} == {run.trace_id}
    assert sorted(span.name for span in spans) == sorted([
        "run pipeline.yaml",
        "pipeline orders", "extract orders", "transform orders", "load orders", "step fetch", "step double", "step store",
        "pipeline broken", "extract broken", "transform broken", "step read", "step explode",
        "pipeline nightly", *2 * ["extract nightly", "step pull", "load nightly", "step keep"],
        *9 * ["attempt 1"], *2 * ["attempt 2"],
    ])
    orders, double = named(spans, "pipeline orders"), named(spans, "step double")
    assert orders.parent_span_id == run.span_id
    assert double.parent_span_id == named(spans, "transform orders").span_id
    assert named(spans, "transform orders").parent_span_id == orders.span_id
    assert double.attributes["orchestrator.rows"] == 3 and double.attributes["orchestrator.plugin"] == "python.call"
    explode = named(spans, "step explode")
    assert explode.status_code == 2  # STATUS_CODE_ERROR
    assert explode.attributes["orchestrator.error"] == "ValueError: upstream refused token ***"
    assert explode.attributes["error.type"] == "ValueError" and explode.attributes["orchestrator.attempts"] == 2
    assert [s.status_code for s in spans if s.parent_span_id == explode.span_id] == [2, 2]
    assert all(SECRET not in repr(span) for span in spans)
    assert {span.resource["service.name"] for span in spans} == {service}


def test_a_cli_run_exports_its_trace_over_otlp_http(tmp_path: Path, receiver: OtlpReceiver) -> None:
    ran = run_cli(write_run(tmp_path), receiver.url)
    check_the_run_trace(receiver.spans, ran.run_id)
    assert {span.resource["process.pid"] for span in receiver.spans} == {ran.pid}  # the run's own process


def test_pipelines_in_process_workers_are_in_the_run_trace(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """The ``process`` executor runs each pipeline in a spawned worker, whose events are relayed
    to the run's process: the run's process makes and sends the whole tree, under the service
    name the run's environment names."""
    ran = run_cli(write_run(tmp_path, executor="process"), receiver.url, OTEL_SERVICE_NAME="nightly-etl")
    check_the_run_trace(receiver.spans, ran.run_id, service="nightly-etl")
    assert {span.resource["process.pid"] for span in receiver.spans} == {ran.pid}


def test_a_collector_that_is_down_does_not_hold_the_run_up(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    ran = run_cli(write_run(tmp_path), endpoint)
    assert time.monotonic() - started < 3 * FLUSH_SECONDS + 10, ran.stderr


def test_pipelines_on_dask_workers_are_in_the_run_trace(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """The same on the ``dask`` executor's LocalCluster: worker processes of Dask's own, whose
    events come back to the run's process."""
    pytest.importorskip("orchestrator_plugin_dask")
    config = write_run(tmp_path, executor="dask, workers: 2, processes: true")
    ran = run_cli(config, receiver.url, ORCHESTRATOR_LOAD_PLUGINS="builtin,opentelemetry,dask")
    check_the_run_trace(receiver.spans, ran.run_id)


SLOW_CONFIG = """\
pipelines:
  slow:
    type: ETL
    phases:
      extract:
        steps:
          - {id: wait, plugin: python.call, args: {callable: "slow:wait"}}
      load:
        steps:
          - {id: keep, plugin: jsonl.write, args: {path: out/kept.jsonl}}
"""

SLOW_STEP = """\
import asyncio
from pathlib import Path


async def wait():
    Path(__file__).with_name("started").write_text("yes")
    await asyncio.sleep(60)
    return []
"""


def test_an_interrupted_run_still_sends_its_spans_as_interrupted(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """Ctrl-C: every open pipeline, phase and step ends ``interrupted``, so do the run and its
    span, and the spans are flushed. (The
    step is async, so that it is cancelled at once: a sync step's thread cannot be, and the
    process would wait for it.)"""
    (tmp_path / "pipeline.yaml").write_text(SLOW_CONFIG)
    (tmp_path / "slow.py").write_text(SLOW_STEP)
    process = subprocess.Popen(
        [str(ORCHESTRATOR), "run", str(tmp_path / "pipeline.yaml")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=tmp_path, env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url},
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0, stderr
    statuses = {span.name: (span.attributes["orchestrator.status"], span.status_code) for span in receiver.spans}
    assert statuses["pipeline slow"] == ("interrupted", 2)
    assert statuses["step wait"] == ("interrupted", 2)
    assert statuses["extract slow"] == ("interrupted", 2)
    assert statuses["attempt 1"] == ("interrupted", 2)
    assert statuses["run pipeline.yaml"] == ("interrupted", 2)
