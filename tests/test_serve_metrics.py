"""Prometheus metrics, end to end: a real ``orchestrator serve`` on a free port runs a real
pipeline file on a schedule (a step retried once, a step that dead-letters a row, a slow schedule
whose ticks queue up), and ``/metrics`` is scraped with a real HTTP client and parsed with
``prometheus_client``'s own parser. And ``orchestrator run --push-metrics``: a real HTTP server
on 127.0.0.1 stands in for the Pushgateway, receives the push and parses it; a push that fails
is a warning and changes no exit code."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from serve_process import ORCHESTRATOR, Served, wait_for

CONFIG = """\
pipelines:
  metered:
    type: ETL
    schedule: {every: 1s, catchup: none}
    phases:
      extract:
        steps:
          - {id: fetch, plugin: python.call, args: {callable: "metered:fetch"}, retry: {attempts: 2, initial: 10ms}}
      transform:
        steps:
          - {id: check, plugin: python.call, args: {callable: "metered:check"}, on_error: dead_letter}
      load:
        steps:
          - {id: store, plugin: jsonl.write, args: {path: out/kept.jsonl}}
  slow:
    type: ETL
    schedule: {every: 1s, catchup: none, overlap: queue, max_queue: 3}
    phases:
      extract:
        steps:
          - {id: wait, plugin: python.call, args: {callable: "metered:wait"}}
      load:
        steps:
          - {id: store, plugin: jsonl.write, args: {path: out/slow.jsonl}}
"""

STEPS = """\
import time
from pathlib import Path

MARKER = Path(__file__).with_name("fetched-once")


def fetch():
    if not MARKER.exists():  # the first call of all fails, as a flaky service might
        MARKER.write_text("")
        raise ConnectionError("connection reset")
    return [{"n": 1}, {"n": 2}, {"n": 3}]


def check(data, context):
    kept = []
    for row in data:
        if row["n"] == 2:
            context.reject(row, "n must not be 2")
        else:
            kept.append(row)
    return kept


def wait():
    time.sleep(2.5)
    return [{"n": 0}]
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, set[str]]:
    """Every sample by (name, labels), and the metric families' names."""
    samples: Samples = {}
    families = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples, families


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(server: Served) -> tuple[Samples, set[str]]:
    response = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def scrape_until(server: Served, ready: Callable[[Samples], bool], timeout: float = 60) -> tuple[Samples, set[str]]:
    """Scrape again until ``ready`` says the samples show what the test waits for."""

    def check() -> tuple[Samples, set[str]] | None:
        scraped = scrape(server)
        return scraped if ready(scraped[0]) else None

    found: tuple[Samples, set[str]] = wait_for(check, timeout, server.text)
    return found


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pipelines.yaml").write_text(CONFIG)
    (tmp_path / "metered.py").write_text(STEPS)
    yield tmp_path


def test_serve_exposes_its_runs_and_its_loop_at_metrics(folder: Path) -> None:
    server = Served(folder, "pipelines.yaml", grace=0)
    try:
        # the slow schedule's ticks wait behind its running run
        queued, _ = scrape_until(server, lambda s: value(s, "orchestrator_queued_runs") >= 1)
        assert value(queued, "orchestrator_runs_in_progress") >= 1
        samples, families = scrape_until(server, lambda s: value(s, "orchestrator_runs_total", status="succeeded") >= 3, 90)
    finally:
        server.stop()
    assert {"orchestrator_runs", "orchestrator_pipelines", "orchestrator_step_duration_seconds", "orchestrator_steps",
            "orchestrator_step_rows", "orchestrator_step_rows_in", "orchestrator_retries", "orchestrator_rejected_rows",
            "orchestrator_pipeline_duration_seconds", "orchestrator_scheduler_lag_seconds", "orchestrator_queued_runs",
            "orchestrator_runs_in_progress", "process_cpu_seconds"} <= families
    metered = value(samples, "orchestrator_pipelines_total", pipeline="metered", status="succeeded")
    assert metered >= 2
    # the step histogram: one observation per step run, in cumulative buckets ending at +Inf
    fetched = value(samples, "orchestrator_step_duration_seconds_count", pipeline="metered", step="fetch")
    assert fetched >= metered
    assert value(samples, "orchestrator_step_duration_seconds_bucket", pipeline="metered", step="fetch", le="+Inf") == fetched
    assert value(samples, "orchestrator_step_duration_seconds_bucket", pipeline="metered", step="fetch", le="0.005") <= fetched
    assert value(samples, "orchestrator_steps_total", pipeline="metered", step="fetch", status="succeeded") == fetched
    stored = value(samples, "orchestrator_steps_total", pipeline="metered", step="store", status="succeeded")
    assert value(samples, "orchestrator_step_rows_total", pipeline="metered", step="fetch") == 3 * fetched
    assert value(samples, "orchestrator_step_rows_in_total", pipeline="metered", step="store") == 2 * stored
    assert value(samples, "orchestrator_retries_total", pipeline="metered", step="fetch") == 1  # the first call only
    assert value(samples, "orchestrator_rejected_rows_total", pipeline="metered", step="check", on_error="dead_letter") >= metered
    ticks = value(samples, "orchestrator_scheduler_lag_seconds_count")
    assert ticks >= metered and 0 <= value(samples, "orchestrator_scheduler_lag_seconds_sum") < 5 * ticks
    assert not [key for key in samples if any(name == "run_id" for name, _ in key[1])]  # no unbounded label


class Pushgateway:
    """A real HTTP server standing in for a Pushgateway: it keeps each push's path and body."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, str, str]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                gateway.pushes.append((self.command, self.path, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def gateway() -> Iterator[Pushgateway]:
    running = Pushgateway()
    yield running
    running.close()


ONE_SHOT = CONFIG.replace("    schedule: {every: 1s, catchup: none}\n", "").split("  slow:")[0]


def run(folder: Path, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
    (folder / "pipelines.yaml").write_text(ONE_SHOT)
    return subprocess.run([ORCHESTRATOR, "run", "pipelines.yaml", *options], cwd=folder, capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, **env})


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_one_shot_run_pushes_its_metrics_to_a_pushgateway(folder: Path, gateway: Pushgateway, how: str) -> None:
    ran = run(folder, "--push-metrics", gateway.url) if how == "option" else run(folder, ORCHESTRATOR_PUSHGATEWAY_URL=gateway.url)
    assert ran.returncode == 0, ran.stderr
    [(method, path, body)] = gateway.pushes
    assert (method, path) == ("PUT", "/metrics/job/orchestrator/config/pipelines.yaml")
    samples, _ = parse(body)
    assert value(samples, "orchestrator_runs_total", status="succeeded") == 1
    assert value(samples, "orchestrator_pipelines_total", pipeline="metered", status="succeeded") == 1
    assert value(samples, "orchestrator_retries_total", pipeline="metered", step="fetch") == 1
    assert value(samples, "orchestrator_step_rows_total", pipeline="metered", step="fetch") == 3
    assert value(samples, "orchestrator_rejected_rows_total", pipeline="metered", step="check", on_error="dead_letter") == 1
    assert value(samples, "orchestrator_step_duration_seconds_count", pipeline="metered", step="store") == 1


def test_a_push_that_fails_is_a_warning_and_the_exit_code_stays(folder: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://user:hunter2@127.0.0.1:{probe.getsockname()[1]}"
    ran = run(folder, "--push-metrics", closed)
    assert ran.returncode == 0, ran.stderr
    assert "warning: the run's metrics could not be pushed to http://user:***@127.0.0.1:" in ran.stderr
    assert "hunter2" not in ran.stderr
    assert "Traceback" not in ran.stderr


def test_the_monitoring_page_lists_the_metrics_serve_exposes(folder: Path) -> None:
    """docs/monitoring.md's table names exactly the metric families of ``/metrics`` (``process_*``
    as one row)."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "monitoring.md").read_text(encoding="utf-8")
    table = page.split("### Metrics", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"^\| `([\w*]+)` \|", table, re.MULTILINE))
    server = Served(folder, "pipelines.yaml", grace=0)
    try:
        _, families = scrape_until(server, lambda s: value(s, "orchestrator_runs_total", status="succeeded") >= 1)
    finally:
        server.stop()
    exposed = {"process_*" if name.startswith("process_") else name for name in families}
    assert exposed == {name.removesuffix("_total") for name in documented}  # a counter's family drops _total


def test_step_labels_are_capped_past_max_series_pairs() -> None:
    """A run of more (pipeline, step) pairs than ``MAX_SERIES`` counts the pairs past the cap
    under ``_other``: the scrape's size stays bounded whatever the configs declare."""
    from prometheus_client import CollectorRegistry, generate_latest

    from orchestrator.events import Event, Kind
    from orchestrator.prometheus import MAX_SERIES, OTHER, RunMetrics

    metrics = RunMetrics(CollectorRegistry())
    consume = metrics.consumer()
    extra = 25
    for index in range(MAX_SERIES + extra):
        consume(Event(Kind.STEP_FINISHED, "run-1", "p", "transform", f"s{index}", "python.call", "succeeded", 1, 0.01))
    samples, _ = parse(generate_latest(metrics.registry).decode())
    counted = {dict(labels)["step"] for name, labels in samples if name == "orchestrator_step_rows_total"}
    assert len(counted) == MAX_SERIES + 1 and OTHER in counted
    assert value(samples, "orchestrator_step_rows_total", pipeline=OTHER, step=OTHER) == extra
    assert sum(v for (name, _), v in samples.items() if name == "orchestrator_step_rows_total") == MAX_SERIES + extra
