"""``--log-format json`` (and ``ORCHESTRATOR_LOG_FORMAT``): what the process says on stderr is one
redacted JSON object per line, and a run's step log lines join it there; ``text`` is unchanged.
Real ``orchestrator`` processes."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from helpers import cli

MONITORING = Path(__file__).resolve().parent.parent / "docs" / "monitoring.md"

SECRET = "hunter2-not-for-logs"

CONFIG = """
params:
  token: ${API_TOKEN}
pipelines:
  chatty:
    type: ETL
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: rows.csv}}]}
      transform:
        steps:
          - {id: talk, plugin: python.call, args: {callable: "steps:talk", kwargs: {token: "${params.token}"}}}
      load: {steps: [{plugin: jsonl.write, args: {path: out/rows.jsonl}}]}
"""

STEPS = """
def talk(rows, token, context):
    context.logger.warning("calling the service with %s", token)
    print("printed by the step")
    return rows
"""

ENV = {"API_TOKEN": SECRET}


def _lines(stderr: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stderr.splitlines()]
    for record in records:
        assert set(record) >= {"time", "level", "message"}, record
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"]), record
        datetime.fromisoformat(record["time"])
    return records


def test_step_log_lines_go_to_stderr_as_json_with_their_ids_and_redacted(write_config) -> None:
    config = write_config(CONFIG, **{"steps.py": STEPS, "rows.csv": "id\n1\n"})
    done = cli("--log-format", "json", "run", str(config), env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    records = _lines(done.stderr)
    run_id = re.search(r"run (\S+) started", done.stdout)[1]  # type: ignore[index]
    assert {(r["level"], r["message"]) for r in records} == {
        ("warning", "calling the service with ***"), ("info", "printed by the step"),
    }
    assert all((r["run_id"], r["pipeline"], r["step"]) == (run_id, "chatty", "talk") for r in records)
    assert SECRET not in done.stdout + done.stderr
    assert "calling the service" not in done.stdout, "the log lines left the reporter's output"
    assert "chatty transform talk succeeded" in done.stdout
    # the line the Monitoring page shows is one of these, field for field
    (documented,) = _lines(MONITORING.read_text().split("```json\n")[1].split("```")[0])
    assert set(documented) == set(records[0]) and documented["level"] == "warning"


def test_the_environment_sets_it_and_errors_are_json_too(write_config) -> None:
    broken = write_config("pipelines: {}\n", name="broken.yaml")
    done = cli("validate", str(broken), env={"ORCHESTRATOR_LOG_FORMAT": "json"})
    assert done.returncode == 2 and done.stdout == ""
    (record,) = _lines(done.stderr)
    assert record["level"] == "error" and record["message"].startswith(f"{broken}:1: $.pipelines")
    assert record["message"].endswith("1 problem found.")
    # an error after the command line was read, with its "error: " prefix left to the level
    missing = cli("--log-format", "json", "runs", "show", cwd=broken.parent)
    (record,) = _lines(missing.stderr)
    assert missing.returncode == 2 and record["level"] == "error" and record["message"].startswith("no run history at ")


def test_text_stays_as_it_was(write_config) -> None:
    config = write_config(CONFIG, **{"steps.py": STEPS, "rows.csv": "id\n1\n"})
    done = cli("run", str(config), env=ENV)
    assert done.returncode == 0 and done.stderr == ""
    assert "chatty talk warning: calling the service with ***" in done.stdout
    broken = write_config("pipelines: {}\n", name="broken.yaml")
    text = cli("--log-format", "text", "validate", str(broken))
    assert text.stderr.startswith(f"{broken}:1: $.pipelines") and text.stderr.endswith("1 problem found.\n")


USAGE_ERRORS = [  # (arguments after the group's options, the usage line, the message's start)
    (["run", "--nope"], "orchestrator run [OPTIONS] CONFIG", "No such option '--nope'."),
    (["run"], "orchestrator run [OPTIONS] CONFIG", "Missing argument 'CONFIG'."),
    (["graph", "p.yaml", "--format", "png"], "orchestrator graph [OPTIONS] CONFIG", "Invalid value for '--format': 'png'"),
    (["runs", "show", "--nope"], "orchestrator runs [OPTIONS] [list|show|prune|stats] [RUN_ID|CONFIG]", "No such option '--nope'."),
    (["nosuch"], "orchestrator [OPTIONS] COMMAND [ARGS]...", "No such command 'nosuch'."),
    (["--nope", "run"], "orchestrator [OPTIONS] COMMAND [ARGS]...", "No such option '--nope'."),
]


@pytest.mark.parametrize(("args", "usage", "message"), USAGE_ERRORS)
def test_usage_errors_are_json_lines_too(args: list[str], usage: str, message: str) -> None:
    for given, env in ((["--log-format", "json", *args], {}), (["--log-format=json", *args], {}), (args, {"ORCHESTRATOR_LOG_FORMAT": "json"})):
        done = cli(*given, env=env)
        assert done.returncode == 2 and done.stdout == "", (given, done.stderr)
        (record,) = _lines(done.stderr)
        command = usage.split(" [")[0]
        assert record["level"] == "error" and record["message"].startswith(message), (given, record)
        assert (record["usage"], record["hint"]) == (usage, f"Try '{command} --help' for help."), (given, record)
    # as text, click's own three lines, as they always were
    text = cli(*args)
    assert text.returncode == 2 and text.stdout == ""
    assert text.stderr.startswith(f"Usage: {usage}\nTry '{command} --help' for help.\n\nError: {message}"), text.stderr
    assert cli("--log-format", "text", *args).stderr == text.stderr


def test_the_documented_usage_error_is_the_one_written() -> None:
    page = MONITORING.read_text()
    (documented,) = _lines(page.split("```json\n")[2].split("```")[0])
    command = re.search(r"`(orchestrator --log-format json [^`]+)`, without\n?\s*the config to run, writes:", page)[1]  # type: ignore[index]
    done = cli(*command.split()[1:])
    (record,) = _lines(done.stderr)
    assert done.returncode == 2 and {k: v for k, v in record.items() if k != "time"} == {k: v for k, v in documented.items() if k != "time"}


def test_traced_hook_calls_are_json_debug_lines(write_config) -> None:
    config = write_config(CONFIG, **{"steps.py": STEPS, "rows.csv": "id\n1\n"})
    done = cli("--log-format", "json", "run", str(config), env={**ENV, "ORCHESTRATOR_TRACE_PLUGINS": "1"})
    assert done.returncode == 0, done.stderr
    traced = [r for r in _lines(done.stderr) if r["level"] == "debug"]
    assert traced and all(r["message"].startswith("[hook] ") for r in traced)


def test_serve_writes_its_notices_and_its_runs_step_lines_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from serve_process import Served, wait_for

    (tmp_path / "steps.py").write_text(
        "def rows(context):\n    context.logger.warning('tick with %s', context.params['token'])\n    return [{'n': 1}]\n"
    )
    (tmp_path / "ticks.yaml").write_text(
        "params:\n  token: ${API_TOKEN}\n"
        "pipelines:\n  ticking:\n    type: ETL\n    schedule: {every: 1s, catchup: none}\n    phases:\n"
        "      extract: {steps: [{id: rows, plugin: python.call, args: {callable: 'steps:rows'}}]}\n"
        "      load: {steps: [{plugin: jsonl.write, args: {path: out/ticks.jsonl}}]}\n"
    )
    monkeypatch.setenv("ORCHESTRATOR_LOG_FORMAT", "json")
    monkeypatch.setenv("API_TOKEN", SECRET)
    server = Served(tmp_path, "ticks.yaml")
    wait_for(lambda: '"step": "rows"' in server.text(), 60, server.text)
    assert server.stop() == 0, server.text()
    records = _lines(server.text())
    assert any(r["level"] == "info" and r["message"].startswith("serving on http://127.0.0.1:") for r in records)
    (first, *_) = [r for r in records if r.get("step") == "rows"]
    assert (first["level"], first["message"], first["pipeline"]) == ("warning", "tick with ***", "ticking")
    assert first["run_id"] and SECRET not in server.text()
