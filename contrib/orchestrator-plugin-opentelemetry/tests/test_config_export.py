"""Export asked for by the run's file (``telemetry: {traces: ...}``), not the environment: the
spans reach a real OTLP/HTTP receiver with the file's header and service name; the file wins over
the ``OTEL_*`` variables giving the same settings; and the header values, secrets, never appear in
the run's output, its history, ``runs show`` or the pages of ``orchestrator serve`` (the UI's)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest
from otlp_receiver import OtlpReceiver
from runs import SECRET, write_run
from test_otlp_export import check_the_run_trace

from orchestrator.config.plan import load_plan
from orchestrator.events import RunResult, discard
from orchestrator.launch import Launch, launched
from orchestrator.plugins.discovery import Plugins

ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")
#: the API key the file's header takes from the environment, and a header value written in the file
API_KEY = "hk-93b1e0f7d2c4"
TENANT = "tenant-6a0c55e1"


def traced(config: Path, endpoint: str) -> Path:
    """``config`` with a ``telemetry.traces`` block naming ``endpoint`` put first."""
    block = (
        "telemetry:\n"
        "  traces:\n"
        f"    endpoint: {endpoint}\n"
        '    headers: {x-api-key: "${HONEYCOMB_API_KEY}", x-tenant: ' + TENANT + "}\n"
        "    service_name: nightly-etl\n"
    )
    config.write_text(block + config.read_text())
    return config


def orchestrator(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess whose environment names no OTLP endpoint (but what ``env`` adds)."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    return subprocess.run(
        [str(ORCHESTRATOR), *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
        env={**clean, "SHOP_API_TOKEN": SECRET, "HONEYCOMB_API_KEY": API_KEY, **env},
    )


def run_id_of(ran: subprocess.CompletedProcess[str]) -> str:
    assert ran.returncode == 1, ran.stderr  # the broken pipeline fails the run
    [run_id] = {json.loads(line)["run_id"] for line in ran.stdout.splitlines() if line.startswith("{")}
    return run_id


def test_the_file_alone_sends_the_trace_with_its_header_and_service_name(tmp_path: Path, receiver: OtlpReceiver) -> None:
    config = traced(write_run(tmp_path), receiver.url)
    ran = orchestrator("run", "--json", str(config), cwd=tmp_path)
    run_id = run_id_of(ran)
    check_the_run_trace(receiver.spans, run_id, service="nightly-etl")
    assert receiver.headers and all(h["x-api-key"] == API_KEY and h["x-tenant"] == TENANT for h in receiver.headers)

    shown = orchestrator("runs", "show", run_id, "--config", str(config), cwd=tmp_path)
    validated = orchestrator("validate", "--show-expanded", str(config), cwd=tmp_path)
    assert shown.returncode == 0 and validated.returncode == 0, shown.stderr + validated.stderr
    assert 'x-api-key: "***"' in validated.stdout or "x-api-key: '***'" in validated.stdout, validated.stdout
    history = b"".join(path.read_bytes() for path in (tmp_path / ".orchestrator").rglob("*") if path.is_file())
    assert b"telemetry:" in history  # the history keeps the file's text ...
    pages = served(config, f"/api/runs/{run_id}/config", f"/api/runs/{run_id}", "/api/runs")  # ... which the UI shows
    assert "telemetry:" in pages[0]["text"] and "x-tenant: ***" in pages[0]["text"]
    for secret in (API_KEY, TENANT):  # ... with no header value, in any table, any output or any page
        assert secret.encode() not in history
        assert secret not in json.dumps(pages)
        for output in (ran, shown, validated):
            assert secret not in output.stdout + output.stderr


def served(config: Path, *paths: str) -> list[Any]:
    """What ``orchestrator serve`` of ``config`` (the UI's server) answers at each of ``paths``."""
    log = config.with_name("serve.log")
    clean = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(ORCHESTRATOR), "serve", str(config), "--port", "0"], cwd=config.parent, stdout=out, stderr=subprocess.STDOUT,
            env={**clean, "SHOP_API_TOKEN": SECRET, "HONEYCOMB_API_KEY": API_KEY, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"serving on http://127\.0\.0\.1:(\d+)", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        answers = []
        for path in paths:
            with urllib.request.urlopen(f"http://127.0.0.1:{found.group(1)}{path}", timeout=30) as response:
                answers.append(json.loads(response.read()))
        return answers
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_the_file_wins_over_the_environment(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """The operator's variables name another collector and service: the file's settings win,
    the other collector gets nothing, and a variable the file does not override (a header) still
    applies."""
    elsewhere = OtlpReceiver().start()
    try:
        config = traced(write_run(tmp_path), f"{receiver.url}/v1/traces")  # a full traces URL is used as it is
        ran = orchestrator(
            "run", "--json", str(config), cwd=tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=elsewhere.url,
            OTEL_SERVICE_NAME="from-the-environment", OTEL_EXPORTER_OTLP_HEADERS="x-team=data,x-tenant=overridden",
        )
        check_the_run_trace(receiver.spans, run_id_of(ran), service="nightly-etl")
        assert elsewhere.spans == [] and elsewhere.requests == 0
        assert all(h["x-team"] == "data" and h["x-tenant"] == TENANT for h in receiver.headers)
    finally:
        elsewhere.stop()


def test_without_the_plugin_a_traced_file_is_refused(tmp_path: Path) -> None:
    config = traced(write_run(tmp_path), "http://127.0.0.1:4318")
    ran = orchestrator("run", str(config), cwd=tmp_path, ORCHESTRATOR_LOAD_PLUGINS="builtin")
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert "pipeline.yaml:2: $.telemetry.traces: traces are configured, but the orchestrator-plugin-opentelemetry " \
        "distribution that exports them is not installed" in ran.stderr
    assert not (tmp_path / "out").exists()  # nothing ran


def launch(config: Path, plugins: Plugins) -> RunResult:
    """One run in this process, started as ``orchestrator run`` and ``orchestrator serve`` do."""
    with launched(load_plan(config, plugins.registry), plugins, Launch(str(config))) as run:
        return anyio.run(run.start, discard)


def test_runs_of_files_naming_different_collectors_in_one_process_each_go_to_their_own(
    tmp_path: Path, plugins: Plugins, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in ``orchestrator serve``: one process runs a file that names ``receiver``, one that
    names another collector under another service name, and one that names none (nor does the
    environment): each trace goes where its file says, the last nowhere."""
    monkeypatch.setenv("SHOP_API_TOKEN", SECRET)
    monkeypatch.setenv("HONEYCOMB_API_KEY", API_KEY)
    for name in ("first", "second", "third"):
        (tmp_path / name).mkdir()
    other = OtlpReceiver().start()
    try:
        first = launch(traced(write_run(tmp_path / "first"), receiver.url), plugins)
        config = traced(write_run(tmp_path / "second"), other.url)
        config.write_text(config.read_text().replace("service_name: nightly-etl", "service_name: hourly-etl"))
        second = launch(config, plugins)
        third = launch(write_run(tmp_path / "third"), plugins)
        check_the_run_trace(receiver.spans, first.run_id, service="nightly-etl")  # its run's spans alone
        check_the_run_trace(other.spans, second.run_id, service="hourly-etl")
        assert third.run_id not in {span.attributes["orchestrator.run_id"] for span in receiver.spans + other.spans}
    finally:
        other.stop()
