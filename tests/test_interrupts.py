"""Ctrl-C and SIGTERM during a real ``orchestrator run`` subprocess: a clean stop with a summary
and exit status 130, finished work kept; a second signal exits at once."""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import BIN, installed

CONFIG = """
pipelines:
  quick:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "slow:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: quick.jsonl}}]}
  slow:
    type: ETL
    depends_on: [quick]
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "slow:rows"}}]}
      transform: {steps: [{id: waiting, plugin: %s}]}
      load: {steps: [{plugin: jsonl.write, args: {path: slow.jsonl}}]}
  after:
    type: ETL
    depends_on: [slow]
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "slow:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: after.jsonl}}]}
"""
SLOW = """
import anyio

def rows():
    return [{"a": 1}]

async def waits(rows):
    await anyio.sleep(60)
    return rows
"""
WAITS = 'python.call, args: {callable: "slow:waits"}'
# a sync step of an installed plugin, run in a worker thread that cannot be cancelled
BLOCKS = "hookfile.burn, args: {seconds: 60}"


@pytest.fixture(scope="module")
def hookfile_installed() -> Iterator[None]:
    with installed("orchestrator-plugin-hookfile"):
        yield


def start(tmp_path: Path, step: str, plugins: str = "builtin") -> subprocess.Popen[str]:
    (tmp_path / "pipeline.yaml").write_text(textwrap.dedent(CONFIG % step))
    (tmp_path / "slow.py").write_text(SLOW)
    process = subprocess.Popen(
        [str(BIN / "orchestrator"), "run", str(tmp_path / "pipeline.yaml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": plugins},
    )
    assert process.stdout is not None
    for line in process.stdout:  # wait until the slow step is running
        if "slow transform waiting started" in line:
            return process
    raise AssertionError(f"the run ended before the slow step started: {process.wait()} {process.stderr.read()}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_run_cleanly(tmp_path: Path, signum: signal.Signals) -> None:
    process = start(tmp_path, WAITS)
    time.sleep(0.2)  # the slow pipeline has run for a measurable while
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert f"{signum.name}: stopping the run" in err
    assert "Traceback" not in out + err
    assert re.search(r"^quick +succeeded", out, re.MULTILINE)
    assert re.search(r"^slow +interrupted", out, re.MULTILINE) and re.search(r"^after +interrupted", out, re.MULTILINE)
    ran = re.search(r"^slow +interrupted +\S+ +(\d+\.\d+)s", out, re.MULTILINE)
    assert ran and float(ran.group(1)) > 0, "the interrupted pipeline reports how long it ran"
    assert "interrupted in" in out
    assert (tmp_path / "quick.jsonl").read_text() == '{"a": 1}\n'  # finished work is kept
    assert not (tmp_path / "after.jsonl").exists()


def test_a_second_signal_exits_at_once(tmp_path: Path, hookfile_installed: None) -> None:
    process = start(tmp_path, BLOCKS, plugins="builtin,hookfile")
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    assert "SIGINT: stopping the run" in process.stderr.readline() + process.stderr.readline()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)
    assert process.returncode == 130
    assert "SIGINT again: exiting now" in process.stderr.read()


STREAMED = """
notify:
  - channel: webhook
    url: "http://127.0.0.1:%d/hook"
    on: [failure, success]
pipelines:
  flowing:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "flow:rows"}}]}
      transform: {steps: [{plugin: python.call, args: {callable: "flow:same"}}]}
      load:
        steps:
          - {plugin: sqlite.write, args: {database: out.db, table: rows}}
          - {plugin: jsonl.write, args: {path: out.jsonl}}
"""
FLOW = """
def rows():
    for start in range(0, 100_000_000, 5000):
        yield [{"id": n, "text": "x" * 20} for n in range(start, start + 5000)]

def same(rows):
    return rows
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_a_stream_flows_interrupts_and_notifies_nobody(tmp_path: Path, signum: signal.Signals) -> None:
    """The loads of an interrupted stream are told to stop: that is the interruption, not a failure
    (status interrupted, exit 130, no failure notification)."""
    posts: list[bytes] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "pipeline.yaml").write_text(STREAMED % server.server_address[1])
        (tmp_path / "flow.py").write_text(FLOW)
        process = subprocess.Popen(
            [str(BIN / "orchestrator"), "run", str(tmp_path / "pipeline.yaml")], cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"},
        )
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # wait until the rows are flowing into both loads
            seen.append(line)
            if "load jsonl.write rows so far=" in line:
                break
        else:
            raise AssertionError(f"the stream never flowed: {''.join(seen)}")
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        server.shutdown()
    assert process.returncode == 130, out + err
    assert re.search(r"^flowing +interrupted", out, re.MULTILINE), out
    assert "failed" not in out and "Traceback" not in err, out + err
    assert posts == []
