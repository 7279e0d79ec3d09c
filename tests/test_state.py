"""The run history: recorded by real ``orchestrator run`` processes into SQLite beside the
pipeline file, shown by ``orchestrator runs``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import BIN, ONLY_BUILTIN, cli

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    target = tmp_path / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", target, ignore=shutil.ignore_patterns("out", ".orchestrator", "__pycache__"))
    return target / "pipeline.yaml"


def history(config: Path, *args: str, env: dict[str, str] | None = None) -> dict | list:
    result = cli("runs", *args, "--config", str(config), "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_run_is_recorded_beside_the_pipeline_file(quickstart: Path) -> None:
    assert cli("run", str(quickstart)).returncode == 0
    assert (quickstart.parent / ".orchestrator" / "state.db").is_file()
    (listed,) = history(quickstart)
    assert (listed["status"], listed["pipelines"], listed["not_succeeded"]) == ("succeeded", 3, 0)
    assert listed["config"] == str(quickstart.resolve())
    shown = history(quickstart, "show", listed["run_id"])
    assert {p["pipeline"]: p["status"] for p in shown["pipelines"]} == {
        "customers": "succeeded", "sales": "succeeded", "revenue_by_country": "succeeded"
    }
    loads = {(s["pipeline"], s["step"]): s["rows"] for s in shown["steps"] if s["phase"] == "load"}
    assert loads[("customers", "sqlite.write")] == 8 and loads[("sales", "sqlite.write")] == 40
    flow = {(s["pipeline"], s["phase"]): (s["rows_in"], s["rows"]) for s in shown["steps"]}
    extracted = flow[("customers", "extract")][1]
    assert flow[("customers", "extract")] == (None, extracted)  # an extract is given nothing
    assert flow[("customers", "transform")] == (extracted, 8)  # cleaning dropped rows
    assert flow[("customers", "load")] == (8, 8) and flow[("sales", "load")] == (40, 40)
    phases = {(p["pipeline"], p["phase"]): p["status"] for p in shown["phases"]}
    assert phases == {
        **{("customers", phase): "succeeded" for phase in ("extract", "transform", "load")},
        **{("sales", phase): "succeeded" for phase in ("extract", "transform", "load", "transform_at_load")},
        **{("revenue_by_country", phase): "succeeded" for phase in ("extract", "load")},  # no transforms
    }
    assert json.loads(shown["run"]["params"]) == {"vat_rate": 0.2, "warehouse": "out/warehouse.db"}


def test_secrets_never_reach_the_state_store(write_config, tmp_path: Path) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: "in/${DB_PASSWORD}.csv"}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """
    )
    secret = "pa55-w0rd-9913"
    assert cli("run", str(config), env={"DB_PASSWORD": secret}).returncode == 1
    stored = b"".join(p.read_bytes() for p in (tmp_path / ".orchestrator").rglob("*") if p.is_file())
    assert secret.encode() not in stored
    env = {"DB_PASSWORD": secret}  # loading the config to find its state needs it too
    (listed,) = history(config, env=env)
    (pipeline,) = history(config, "show", listed["run_id"], env=env)["pipelines"]
    assert "in/***.csv" in pipeline["error"]


def test_state_off_records_nothing(write_config, tmp_path: Path) -> None:
    config = write_config(
        """
        state: "off"
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "rows:one"}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **{"rows.py": "def one():\n    return [{'a': 1}]\n"},
    )
    assert cli("run", str(config)).returncode == 0
    assert not (tmp_path / ".orchestrator").exists()
    refused = cli("runs", "--config", str(config))
    assert refused.returncode == 2 and "says 'state: off'" in refused.stderr


def test_runs_without_history_says_what_to_do(tmp_path: Path) -> None:
    result = cli("runs", cwd=tmp_path)
    assert result.returncode == 2
    assert "no run history at .orchestrator/state.db; run a pipeline first" in result.stderr


def test_concurrent_runs_record_into_one_database(quickstart: Path) -> None:
    env = {**os.environ, **ONLY_BUILTIN}
    processes = [
        subprocess.Popen([str(BIN / "orchestrator"), "run", str(quickstart), "--pipeline", name],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        for name in ("customers", "sales", "customers", "sales")
    ]
    assert [p.wait(timeout=120) for p in processes] == [0, 0, 0, 0]
    listed = history(quickstart)
    assert len(listed) == 4 and {r["status"] for r in listed} == {"succeeded"}


def test_the_process_executor_is_recorded_like_local(quickstart: Path) -> None:
    assert cli("run", str(quickstart), "--executor", "process").returncode == 0
    (listed,) = history(quickstart)
    steps = history(quickstart, "show", listed["run_id"])["steps"]
    assert len(steps) == 10 and {s["status"] for s in steps} == {"succeeded"}


def test_a_secret_reaches_nothing_a_run_writes(write_config, tmp_path: Path) -> None:
    """A secret from the environment, quoted in a step's error, in a dead letter's error and in a
    pipeline's failure: not in the output, the history, the dead letters or the checkpoints."""
    config = write_config(
        """
        pipelines:
          checked:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
              transform:
                steps:
                  - {plugin: python.call, args: {callable: "steps:check", kwargs: {token: "${API_TOKEN}"}}, on_error: dead_letter}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
          missing:
            type: ETL
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: "in/${API_TOKEN}.csv"}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: missing.jsonl}}]}
        """,
        **{"steps.py": "def rows():\n    return [{'id': i} for i in range(5)]\n\n"
                       "def check(rows, token):\n    if any(r['id'] == 3 for r in rows):\n"
                       "        raise ValueError(f'the service refused token {token}')\n    return rows\n"},
    )
    secret = "tok-5ecr3t-7781"
    env = {"API_TOKEN": secret}
    result = cli("run", str(config), "--json", env=env)
    assert result.returncode == 1
    assert secret not in result.stdout + result.stderr
    written = [path for path in (tmp_path / ".orchestrator").rglob("*") if path.is_file()]
    (letters,) = [path for path in written if "dead-letters" in path.parts and path.suffix == ".jsonl"]
    assert "the service refused token ***" in letters.read_text()
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    (listed,) = history(config, env=env)
    for shown in (cli("runs", "show", listed["run_id"], "--config", str(config), env=env),
                  cli("runs", "show", listed["run_id"], "--config", str(config), "--json", env=env)):
        assert shown.returncode == 0 and secret not in shown.stdout
        assert "***" in shown.stdout


def test_url_passwords_and_unreferenced_secret_variables_reach_nothing_a_run_writes(write_config, tmp_path: Path) -> None:
    """A password inside a URL in a neutrally named variable, and a secret-named variable the
    config never references but step code reads: neither in the output, the history or any file."""
    config = write_config(
        """
        pipelines:
          fetched:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "steps:fetch", kwargs: {url: "${PG_URL}"}}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **{"steps.py": "import os\n\ndef fetch(url):\n"
                       "    raise ConnectionError(f'cannot reach {url} with key {os.environ[\"AWS_SECRET_ACCESS_KEY\"]}')\n"},
    )
    password, key = "pw-9Qz81-neutral", "AKIA-unreferenced-77a1"
    env = {"PG_URL": f"postgresql://loader:{password}@db.internal:5432/warehouse", "AWS_SECRET_ACCESS_KEY": key}
    result = cli("run", str(config), "--json", env=env)
    assert result.returncode == 1
    assert "postgresql://loader:***@db.internal" in result.stdout
    written = [path for path in (tmp_path / ".orchestrator").rglob("*") if path.is_file()]
    (listed,) = history(config, env=env)
    shown = cli("runs", "show", listed["run_id"], "--config", str(config), "--json", env=env)
    for secret in (password, key):
        assert secret not in result.stdout + result.stderr + shown.stdout
        for path in written:
            assert secret.encode() not in path.read_bytes(), path


def test_the_server_creates_a_history_file_in_the_mode_runs_open_it_in(tmp_path: Path) -> None:
    """``orchestrator serve`` may create the state file before any run: in WAL mode, as the run
    history does, so a run opening it never has to switch the mode of a file the server holds."""
    from orchestrator.serve.store import connect

    connection = connect("sqlite:///state.db", tmp_path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        connection.close()


def test_opening_the_history_waits_for_a_writer_that_holds_the_file(tmp_path: Path) -> None:
    import sqlite3
    import threading

    from orchestrator.runstate.history import open_state

    open_state("sqlite:///state.db", tmp_path).close()
    writer = sqlite3.connect(tmp_path / "state.db", isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN EXCLUSIVE")
    released = threading.Timer(1.0, lambda: writer.execute("COMMIT"))
    released.start()
    try:
        store = open_state("sqlite:///state.db", tmp_path)  # waits for the commit instead of failing
        store.close()
    finally:
        released.join()
        writer.close()
