"""What the history keeps for the web API: the lines steps log (redacted, capped per step
attempt, with the line that says the cap was hit) and the redacted text of the pipeline file as it
was run; ``orchestrator runs show`` prints the last log lines. Real ``orchestrator run`` subprocesses
on real SQLite histories."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from helpers import cli

from orchestrator.runstate.history.recording import LOG_CAPPED, LOG_LINES_KEPT

STEPS = '''
import os

def rows(context):
    context.logger.info("extracting with %s", os.environ["API_TOKEN"])
    return [{"a": 1}]

def chatty(rows, context):
    for number in range(int(context.params["lines"])):
        context.logger.info("line %d", number)
    return rows
'''

CONFIG = """\
params: {lines: 3}
state: sqlite:///.orchestrator/state.db
pipelines:
  logging:
    type: ETL
    phases:
      extract: {steps: [{id: rows, plugin: python.call, args: {callable: "steps:rows"}}]}
      transform: {steps: [{id: chatty, plugin: python.call, args: {callable: "steps:chatty"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: "out.jsonl"}}]}
# the warehouse: postgresql://loader:hunter2pass@db.example/warehouse
"""

SECRET = "tok-9f8e7d6c5b4a"


def _run(folder: Path, *args: str) -> str:
    done = cli("run", str(folder / "pipeline.yaml"), *args, cwd=folder, env={"API_TOKEN": SECRET}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    shown = cli("runs", "show", "--config", str(folder / "pipeline.yaml"), "--json", cwd=folder)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def _rows(folder: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(folder / ".orchestrator" / "state.db") as db:
        return db.execute(sql).fetchall()


def test_log_lines_and_the_config_text_are_kept_redacted(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    (tmp_path / "steps.py").write_text(STEPS)
    shown = json.loads(_run(tmp_path))
    lines = [(line["pipeline"], line["step"], line["attempt"], line["level"], line["message"]) for line in shown["logs"]]
    assert ("logging", "rows", 1, "info", "extracting with ***") in lines, lines
    assert [line for line in lines if line[1] == "chatty"] == [("logging", "chatty", 1, "info", f"line {n}") for n in range(3)]
    assert [line["seq"] for line in shown["logs"]] == list(range(1, len(lines) + 1))
    text = shown["run"]["config_text"]
    assert text.startswith("params: {lines:") and "hunter2pass" not in text and "postgresql://loader:***@db.example" in text
    database = (tmp_path / ".orchestrator" / "state.db").read_bytes()
    assert SECRET.encode() not in database and b"hunter2pass" not in database


def test_log_lines_are_capped_per_step_attempt_and_the_cap_is_said(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    (tmp_path / "steps.py").write_text(STEPS)
    _run(tmp_path, "--param", f"lines={LOG_LINES_KEPT + 500}")
    kept = _rows(tmp_path, "SELECT level, message FROM step_logs WHERE step = 'chatty' ORDER BY seq")
    assert len(kept) == LOG_LINES_KEPT + 1
    assert kept[-2] == ("info", f"line {LOG_LINES_KEPT - 1}")
    assert kept[-1] == ("warning", LOG_CAPPED)


def test_runs_show_prints_the_last_log_lines(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    (tmp_path / "steps.py").write_text(STEPS)
    _run(tmp_path)
    shown = cli("runs", "show", "--config", str(tmp_path / "pipeline.yaml"), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "log lines (the last 20" in shown.stdout
    assert "logging/chatty  info: line 2" in shown.stdout
    assert "logging/rows  info: extracting with ***" in shown.stdout


def test_retention_removes_a_runs_log_lines(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    (tmp_path / "steps.py").write_text(STEPS)
    _run(tmp_path)
    _run(tmp_path)
    done = cli("runs", "prune", "--config", str(tmp_path / "pipeline.yaml"), "--keep-runs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(_rows(tmp_path, "SELECT DISTINCT run_id FROM step_logs")) == 1
