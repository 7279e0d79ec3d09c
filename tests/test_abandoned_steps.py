"""A sync step that timed out is abandoned, and the process does not wait for it: once the summary
is printed, ``orchestrator run`` exits, whether the step is retried, and on ``process`` too (the
worker is killed); the Python API returns, and a script that called it ends. Real subprocesses."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import BIN

STUCK = """
import time


def stuck():
    time.sleep(600)
    return [{"a": 1}]


def stuck_load(rows):
    time.sleep(600)


def rows():
    return [{"a": 1}]
"""

CONFIG = """
executor: %s
pipelines:
  stuck:
    type: ETL
    phases:
      extract:
        steps: [{plugin: python.call, args: {callable: "stuck:stuck"}, timeout: 1s, %s}]
      load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
  stuck_loading:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "stuck:rows"}}]}
      load: {steps: [{plugin: python.call, args: {callable: "stuck:stuck_load"}, timeout: 1s}]}
"""
RETRY = "retry: {attempts: 2, initial: 10ms}"


def ended(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` run to its end. Its stuck steps sleep ten minutes: a process that waited for one
    (or left a worker holding its output open) still runs after two, and is killed with its
    process group then, failing the test however slow or loaded the machine."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"},
    )
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise AssertionError(f"{command[-1]} did not end: it waited for a step it had abandoned\n{out}{err}") from None
    try:
        os.killpg(process.pid, signal.SIGKILL)  # nothing of the run outlives the test, not even a worker that closed its output
    except ProcessLookupError:
        pass
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.parametrize(("executor", "retry"), [("local", "id: stuck"), ("local", RETRY), ("process", RETRY)])
def test_the_run_exits_once_its_summary_is_printed(tmp_path: Path, executor: str, retry: str) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG % (executor, retry))
    (tmp_path / "stuck.py").write_text(STUCK)
    done = ended([str(BIN / "orchestrator"), "run", "pipeline.yaml"], tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^stuck +failed .*timed out after 1s", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^stuck_loading +failed .*timed out after 1s", done.stdout, re.MULTILINE), done.stdout


def test_a_script_that_ran_pipelines_through_the_api_ends(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG % ("local", "id: stuck"))
    (tmp_path / "stuck.py").write_text(STUCK)
    (tmp_path / "main.py").write_text("import orchestrator\nprint(orchestrator.run('pipeline.yaml').ok)\n")
    done = ended([sys.executable, "main.py"], tmp_path)
    assert done.stdout == "False\n", done.stdout + done.stderr
