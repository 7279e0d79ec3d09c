"""A step's death is that step's failure only: ``SystemExit``, ``KeyboardInterrupt`` or a bare
``BaseException`` raised by a step (sync or async, extract, streamed extract, transform or load)
fails its pipeline, while the others run on, the summary is printed, the history records the end
and the exit status is 1. Real ``orchestrator run`` subprocesses."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import cli

DYING = '''
import sys


def exits(rows=None):
    sys.exit(0)


async def interrupts(rows=None):
    raise KeyboardInterrupt


def dies(rows):
    raise BaseException("gone")


def streams():
    yield [{"a": 1}]
    raise SystemExit(3)


def loads(rows):
    raise KeyboardInterrupt


def rows():
    return [{"a": 1}]


def vanishes(rows):
    import os
    import time

    time.sleep(0.5)  # the other pipelines are running in their workers by now
    os._exit(1)


def slowly():
    import time

    time.sleep(1.5)
    return [{"a": 1}]
'''

CONFIG = """
pipelines:
  exits:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "dying:exits"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: exits.jsonl}}]}
  interrupts:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "dying:interrupts"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: interrupts.jsonl}}]}
  dies:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "dying:rows"}}]}
      transform: {steps: [{plugin: python.call, args: {callable: "dying:dies"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: dies.jsonl}}]}
  streams:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "dying:streams"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: streams.jsonl}}]}
  loads:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "dying:rows"}}]}
      load: {steps: [{plugin: python.call, args: {callable: "dying:loads"}}]}
  healthy:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "dying:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: healthy.jsonl}}]}
"""

DIED = {
    "exits": "SystemExit: 0",
    "interrupts": "KeyboardInterrupt",
    "dies": "BaseException: gone",
    "streams": "SystemExit: 3",
    "loads": "KeyboardInterrupt",
}


VANISHES = """
  vanishes:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "dying:rows"}}]}
      load: {steps: [{plugin: python.call, args: {callable: "dying:vanishes"}}]}
  unrelated:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "dying:slowly"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: unrelated.jsonl}}]}
"""


@pytest.mark.parametrize("executor", ["local", "process"])
def test_a_step_that_exits_or_interrupts_fails_its_pipeline_only(tmp_path: Path, executor: str) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    (tmp_path / "dying.py").write_text(DYING)
    done = cli("run", str(tmp_path / "pipeline.yaml"), "--executor", executor, cwd=tmp_path, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for pipeline, raised in DIED.items():
        assert re.search(rf"^{pipeline} +failed .*{re.escape(raised)}", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^healthy +succeeded", done.stdout, re.MULTILINE), done.stdout
    assert (tmp_path / "healthy.jsonl").read_text() == '{"a": 1}\n'
    history = cli("runs", "--config", str(tmp_path / "pipeline.yaml"), "--json", cwd=tmp_path)
    assert json.loads(history.stdout)[0]["status"] == "failed", history.stdout


SPINS = '''
import signal
import sys
import time
from pathlib import Path

import orchestrator

Path("spin.py").write_text("""
import time
from pathlib import Path


async def spin():
    Path("spinning").touch()
    while True:  # keeps the event loop busy: only the second Ctrl-C can stop it
        time.sleep(0.001)
""")
Path("pipeline.yaml").write_text("""
pipelines:
  spins:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "spin:spin"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
""")
ended = []
try:
    result = orchestrator.run("pipeline.yaml", on_event=lambda e: ended.append(e.status) if e.kind == "pipeline_finished" else None)
except KeyboardInterrupt:
    print("interrupted by Ctrl-C; the pipeline ended", *ended)
    sys.exit(130)
print("the run went on:", result)
'''


def test_a_real_ctrl_c_still_interrupts_an_api_run(tmp_path: Path) -> None:
    """Python's API, an async step that keeps the loop busy: the first SIGINT cannot cancel it,
    the second raises KeyboardInterrupt in it, which is the user's, not the step's own."""
    (tmp_path / "main.py").write_text(SPINS)
    process = subprocess.Popen(
        [sys.executable, "main.py"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"},
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "spinning").exists():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert "interrupted by Ctrl-C; the pipeline ended interrupted" in out, out + err
    assert process.returncode == 130


def test_a_worker_that_vanishes_fails_its_pipeline_only(tmp_path: Path) -> None:
    """``os._exit`` in a step on ``process`` ends its worker: that pipeline fails, and the
    pipelines running in the other workers, and those started after, succeed."""
    (tmp_path / "pipeline.yaml").write_text("executor: {name: process, workers: 2}\n" + CONFIG + VANISHES)
    (tmp_path / "dying.py").write_text(DYING)
    done = cli("run", str(tmp_path / "pipeline.yaml"), cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^vanishes +failed .*its worker process died \(exit code 1\)", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^unrelated +succeeded", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^healthy +succeeded", done.stdout, re.MULTILINE), done.stdout
    assert (tmp_path / "unrelated.jsonl").read_text() == '{"a": 1}\n'
