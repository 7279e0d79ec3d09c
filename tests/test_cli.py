"""End-to-end: the installed ``orchestrator`` command as a subprocess, on the shipped example."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from helpers import BIN, ONLY_BUILTIN, cli

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "examples" / "quickstart"


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    target = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, target, ignore=shutil.ignore_patterns("out", ".orchestrator", "__pycache__"))
    return target / "pipeline.yaml"


def test_quickstart_runs_from_any_directory(quickstart: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("run", str(quickstart), cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    db = sqlite3.connect(quickstart.parent / "out" / "warehouse.db")
    assert db.execute("SELECT COUNT(*) FROM customers").fetchone() == (8,)
    assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (40,)
    orders, revenue = db.execute("SELECT SUM(orders), ROUND(SUM(revenue), 2) FROM daily_revenue").fetchone()
    (expected,) = db.execute("SELECT ROUND(SUM(quantity * unit_price * 1.2), 2) FROM orders").fetchone()
    assert orders == 40 and revenue == pytest.approx(expected, abs=0.05)
    report = (quickstart.parent / "out" / "revenue_by_country.csv").read_text().splitlines()
    assert report[0] == "country,customers,revenue" and len(report) == 4
    assert not list(elsewhere.iterdir())  # nothing was written relative to the current directory
    assert "revenue_by_country  succeeded" in result.stdout


def test_json_events_tell_the_whole_run(quickstart: Path) -> None:
    result = cli("run", str(quickstart), "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["kind"] == "run_started" and events[-1]["kind"] == "summary"
    kinds = {e["kind"] for e in events}
    assert {"pipeline_started", "phase_started", "step_started", "step_finished", "pipeline_finished", "run_finished"} <= kinds
    finished = [e for e in events if e["kind"] == "step_finished" and e["phase"] == "load"]
    assert {e["pipeline"]: e["rows"] for e in finished if e["step"] == "sqlite.write"} == {"customers": 8, "sales": 40}
    summary = events[-1]
    assert summary["status"] == "succeeded"
    assert [p["name"] for p in summary["pipelines"]] == ["customers", "sales", "revenue_by_country"]


def test_pipeline_selection_runs_dependencies_too(quickstart: Path) -> None:
    result = cli("run", str(quickstart), "--pipeline", "sales", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert [p["name"] for p in summary["pipelines"]] == ["sales"]


def test_failed_pipeline_exits_1_and_names_the_step(quickstart: Path) -> None:
    (quickstart.parent / "data" / "orders.csv").unlink()
    result = cli("run", str(quickstart))
    assert result.returncode == 1
    assert "sales               failed" in result.stdout
    assert "step 'raw_orders' (csv.read) failed: file not found:" in result.stdout
    assert "revenue_by_country  skipped" in result.stdout
    assert "customers           succeeded" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_params_override_declared_defaults(quickstart: Path) -> None:
    result = cli("run", str(quickstart), "--param", "vat_rate=0", "--param", "warehouse=out/plain.db")
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(quickstart.parent / "out" / "plain.db")
    total, expected = db.execute("SELECT SUM(total), SUM(quantity * unit_price) FROM orders").fetchone()
    assert total == pytest.approx(expected)


def test_env_variable_default_and_override(quickstart: Path) -> None:
    result = cli("run", str(quickstart), "--pipeline", "customers", env={"WAREHOUSE": "out/from_env.db"})
    assert result.returncode == 0, result.stderr
    assert (quickstart.parent / "out" / "from_env.db").exists()


def test_secrets_from_the_environment_are_redacted(write_config) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: "data/${API_TOKEN}.csv"}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """
    )
    secret = "s3cr3t-value-42"
    for extra in ([], ["--json"]):
        result = cli("run", str(config), *extra, env={"API_TOKEN": secret})
        assert result.returncode == 1
        assert secret not in result.stdout + result.stderr
        assert "data/***.csv" in result.stdout


def test_validate_reports_ok(quickstart: Path) -> None:
    result = cli("validate", str(quickstart))
    assert result.returncode == 0
    assert result.stdout.strip() == f"{quickstart}: ok (3 pipelines, 10 steps)"


def test_graph_formats(quickstart: Path) -> None:
    text = cli("graph", str(quickstart)).stdout
    assert text == "customers (ETL)\nsales (ETLT)\nrevenue_by_country (ETL)  <- customers, sales\n"
    mermaid = cli("graph", str(quickstart), "--format", "mermaid").stdout
    assert mermaid.splitlines()[0] == "flowchart LR"
    assert "    p_customers --> p_revenue_by_country" in mermaid
    dot = cli("graph", str(quickstart), "--format", "dot").stdout
    assert '    "sales" -> "revenue_by_country";' in dot and dot.rstrip().endswith("}")


def test_schema_composes_plugin_args(quickstart: Path, tmp_path: Path) -> None:
    import yaml

    out = tmp_path / "schema.json"
    assert cli("schema", "--output", str(out)).returncode == 0
    schema = json.loads(out.read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    config = yaml.safe_load(quickstart.read_text())
    assert list(validator.iter_errors(config)) == []
    config["pipelines"]["customers"]["phases"]["load"]["steps"][0]["args"]["mode"] = "overwrite"
    errors = list(validator.iter_errors(config))
    assert errors and any("overwrite" in e.message for e in errors)
    config["pipelines"]["customers"]["phases"]["load"]["steps"][0]["plugin"] = "csv.read"  # not a load step
    assert list(validator.iter_errors(config))


def test_plugins_lists_the_builtins() -> None:
    result = cli("plugins")
    assert result.returncode == 0
    assert "pipeline-orchestrator" in result.stdout
    assert "load:              csv.write, jsonl.write, pipeline.handoff, python.call, sqlite.write" in result.stdout


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "orchestrator", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("orchestrator ")


def test_live_progress_on_a_terminal(quickstart: Path) -> None:
    """Under a pseudo-terminal the run draws a live table and ends with the summary table."""
    import pty

    primary, secondary = pty.openpty()
    env = {**os.environ, **ONLY_BUILTIN, "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen([str(BIN / "orchestrator"), "run", str(quickstart)], stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    raw = output.decode(errors="replace")
    assert process.wait(timeout=60) == 0, raw
    assert "\x1b[" in raw  # drawn with terminal control sequences, not plain lines
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    assert "rows" in text and "revenue_by_country" in text
    assert "run succeeded in" in text
    assert "started" not in text  # no plain log lines on a terminal


def test_a_closed_output_pipe_does_not_stop_the_run(quickstart: Path) -> None:
    """``orchestrator run ... | head -1``: the reader goes away, the loads still finish."""
    process = subprocess.Popen(
        [str(BIN / "orchestrator"), "run", str(quickstart), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **ONLY_BUILTIN},
    )
    assert process.stdout is not None and process.stderr is not None
    first = json.loads(process.stdout.readline())
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    assert first["kind"] == "run_started"
    assert b"Traceback" not in process.stderr.read()
    db = sqlite3.connect(quickstart.parent / "out" / "warehouse.db")
    assert db.execute("SELECT COUNT(*) FROM daily_revenue").fetchone() == (5,)


def test_step_logs_appear_with_the_progress_and_are_redacted(write_config) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{id: src, plugin: python.call, args: {callable: "talk:rows", kwargs: {token: "${API_TOKEN}"}}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **{"talk.py": "def rows(token, context):\n    context.logger.info('fetched 3 pages with %s', token)\n    context.logger.debug('not shown')\n    return [{'a': 1}]\n"},
    )
    env = {"API_TOKEN": "tok-123456"}
    plain = cli("run", str(config), env=env)
    assert plain.returncode == 0, plain.stderr
    assert " p src info: fetched 3 pages with ***" in plain.stdout
    assert "not shown" not in plain.stdout and "tok-123456" not in plain.stdout + plain.stderr
    events = [json.loads(line) for line in cli("run", str(config), "--json", env=env).stdout.splitlines()]
    (log,) = [e for e in events if e["kind"] == "log"]
    assert (log["pipeline"], log["step"], log["level"], log["message"]) == ("p", "src", "info", "fetched 3 pages with ***")


def test_the_editor_schema_accepts_references_where_validate_does(quickstart: Path, tmp_path: Path) -> None:
    """validate substitutes ${...} first; an editor sees the text as written and must agree."""
    import yaml

    out = tmp_path / "schema.json"
    assert cli("schema", "--output", str(out)).returncode == 0
    validator = Draft202012Validator(json.loads(out.read_text()))
    config = yaml.safe_load(quickstart.read_text())
    config["concurrency"] = "${params.workers}"
    load = config["pipelines"]["customers"]["phases"]["load"]["steps"][0]
    load["args"]["mode"] = "${params.mode}"
    assert list(validator.iter_errors(config)) == []
    config["concurrency"] = "many"
    errors = list(validator.iter_errors(config))
    assert errors and any("many" in e.message for e in errors)
