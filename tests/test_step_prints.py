"""What a step prints does not corrupt ``orchestrator run --json``: it comes out as ``log`` events
of the step that printed it, on ``local`` and on ``process`` (whose workers also send what steps
log through ``context.logger``). Real ``orchestrator run`` subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli

PRINTS = '''
import logging


async def rows():
    print("extracting", 2, "rows")
    return [{"a": 1}, {"a": 2}]


def double(rows, context):
    print("doubling", len(rows), "rows")
    print("no newline yet", end="")
    print(" ... done")
    context.logger.info("logged by the transform")
    return [{"a": row["a"] * 2} for row in rows]
'''

CONFIG = """
executor: %s
pipelines:
  printing:
    type: ETL
    phases:
      extract: {steps: [{id: rows, plugin: python.call, args: {callable: "printing:rows"}}]}
      transform: {steps: [{id: double, plugin: python.call, args: {callable: "printing:double"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
"""


@pytest.mark.parametrize("executor", ["local", "process"])
def test_prints_become_log_events_of_their_step(tmp_path: Path, executor: str) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG % executor)
    (tmp_path / "printing.py").write_text(PRINTS)
    done = cli("run", str(tmp_path / "pipeline.yaml"), "--json", cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]  # every line is JSON
    logs = [(e["step"], e["message"]) for e in events if e["kind"] == "log"]
    assert ("rows", "extracting 2 rows") in logs, logs
    assert ("double", "doubling 2 rows") in logs, logs
    assert ("double", "no newline yet ... done") in logs, logs
    assert ("double", "logged by the transform") in logs, logs
    assert (tmp_path / "out.jsonl").read_text() == '{"a": 2}\n{"a": 4}\n'
