"""``orchestrator runs``: ``--config`` shows that file's runs only, although pipeline files of one
folder share a store, and ``runs show`` without a run id shows the latest run."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import cli

CONFIG = """
pipelines:
  copy:
    type: ETL
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: rows.csv}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/NAME.jsonl}}]}
"""


def _run(config: Path) -> str:
    result = cli("run", str(config), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.splitlines()[0])["run_id"]


def test_runs_of_one_file_and_the_latest_run(write_config) -> None:
    first = write_config(CONFIG.replace("NAME", "a"), name="a.yaml", **{"rows.csv": "id\n1\n"})
    second = write_config(CONFIG.replace("NAME", "b"), name="b.yaml")
    a1, b1, a2 = _run(first), _run(second), _run(first)

    listed = json.loads(cli("runs", "--config", str(first), "--json").stdout)
    assert [run["run_id"] for run in listed] == [a2, a1], "b.yaml's run shares the store but is not a.yaml's"
    everything = json.loads(cli("runs", "--json", cwd=first.parent).stdout)
    assert [run["run_id"] for run in everything] == [a2, b1, a1]

    latest = cli("runs", "show", "--config", str(second), "--json")
    assert latest.returncode == 0, latest.stderr
    assert json.loads(latest.stdout)["run"]["run_id"] == b1
    overall = cli("runs", "show", cwd=first.parent)
    assert overall.returncode == 0, overall.stderr
    assert overall.stdout.startswith(f"run {a2} succeeded")


def test_runs_show_without_a_run_id_and_no_run_yet_says_so(write_config) -> None:
    config = write_config(CONFIG.replace("NAME", "a"), **{"rows.csv": "id\n1\n"})
    (config.parent / ".orchestrator").mkdir()
    _run(write_config(CONFIG.replace("NAME", "b"), name="other.yaml"))
    result = cli("runs", "show", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr == f"error: no run of {config.resolve()} in the history yet; run the pipeline file first\n"
