"""A sync step that timed out is abandoned, and the process does not wait for it: once the summary
is printed, ``orchestrator run`` exits, whether the step is retried, and on ``process`` too (the
worker is killed); the Python API returns, and a script that called it ends. Real subprocesses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import BIN

STUCK = """
import time


def stuck():
    time.sleep(30)
    return [{"a": 1}]


def stuck_load(rows):
    time.sleep(30)


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


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = subprocess.run(
        command, check=False, cwd=cwd, capture_output=True, text=True, timeout=60, env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"}
    )
    return time.monotonic() - started, done


@pytest.mark.parametrize(("executor", "retry"), [("local", "id: stuck"), ("local", RETRY), ("process", RETRY)])
def test_the_run_exits_once_its_summary_is_printed(tmp_path: Path, executor: str, retry: str) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG % (executor, retry))
    (tmp_path / "stuck.py").write_text(STUCK)
    took, done = timed([str(BIN / "orchestrator"), "run", "pipeline.yaml"], tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^stuck +failed .*timed out after 1s", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^stuck_loading +failed .*timed out after 1s", done.stdout, re.MULTILINE), done.stdout
    assert took < 12, f"the process took {took:.1f}s to exit after a 1s timeout"


def test_a_script_that_ran_pipelines_through_the_api_ends(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG % ("local", "id: stuck"))
    (tmp_path / "stuck.py").write_text(STUCK)
    (tmp_path / "main.py").write_text("import orchestrator\nprint(orchestrator.run('pipeline.yaml').ok)\n")
    took, done = timed([sys.executable, "main.py"], tmp_path)
    assert done.stdout == "False\n", done.stdout + done.stderr
    assert took < 12, f"the script took {took:.1f}s to end after a 1s timeout"
