"""``orchestrator export airflow`` (the core's export group, this plugin's subcommand) and
``orchestrator plugins``, run as the installed CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import LOAD_PLUGINS

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[3]
QUICKSTART = REPO / "examples" / "quickstart" / "pipeline.yaml"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "orchestrator"), *args], capture_output=True, text=True, cwd=cwd,
        env={"ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS, "PATH": f"{BIN}:/usr/bin:/bin"},
    )


def test_the_dag_file_goes_to_stdout_and_names_the_pipeline_file() -> None:
    done = cli("export", "airflow", str(QUICKSTART))
    assert done.returncode == 0, done.stderr
    assert f"dag = pipeline_dag({str(QUICKSTART)!r}, dag_id='pipeline')\n" in done.stdout
    namespace: dict = {"__file__": "/elsewhere/dag.py"}
    exec(compile(done.stdout, "dag.py", "exec"), namespace)
    assert sorted(namespace["dag"].task_ids) == ["customers", "revenue_by_country", "sales"]


def test_with_o_the_file_names_the_pipeline_file_relative_to_itself(tmp_path: Path) -> None:
    target = tmp_path / "dags" / "quick.py"
    target.parent.mkdir()
    done = cli("export", "airflow", str(QUICKSTART), "-o", str(target), "--dag-id", "quick", "--pipeline", "sales")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and "DAG quick: sales" in done.stderr
    text = target.read_text()
    relative = os.path.relpath(QUICKSTART, target.parent)
    assert relative.startswith("../") and f"dag = pipeline_dag({relative!r}, dag_id='quick', pipelines=['sales'])\n" in text
    namespace: dict = {"__file__": str(target)}
    exec(compile(text, str(target), "exec"), namespace)
    assert namespace["dag"].get_task("sales").config == str(QUICKSTART)


def test_a_pipeline_file_with_problems_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipelines:\n  p:\n    type: ETX\n    phases: {}\n")
    target = tmp_path / "dag.py"
    done = cli("export", "airflow", str(bad), "-o", str(target))
    assert done.returncode == 2
    assert "is not a valid pipeline file" in done.stderr and "$.pipelines.p.type" in done.stderr
    assert "Traceback" not in done.stderr and not target.exists()


def test_plugins_lists_the_engine_and_the_exporter() -> None:
    done = cli("plugins", "--json")
    assert done.returncode == 0, done.stderr
    (airflow,) = [p for p in json.loads(done.stdout)["plugins"] if p["distribution"] == "orchestrator-plugin-airflow"]
    assert (airflow["engines"], airflow["exporters"]) == (["airflow"], ["airflow"])
    listed = cli("export", "--help")
    assert "airflow" in listed.stdout and "Write an Airflow DAG file" in listed.stdout
