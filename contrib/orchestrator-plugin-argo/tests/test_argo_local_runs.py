"""No Argo cluster here: each command line the manifest gives a container is run as it would run
in the pod (its working directory, the workflow's uid and scheduled time filled in as Argo fills
them), in the DAG's order. The rows land; a task Argo retries (the same command line again) goes
on from the checkpoints; a CronWorkflow's scheduled time is the run's tick."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import uuid
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

from conftest import BIN, LOAD_PLUGINS, cli

REPO = Path(__file__).resolve().parents[3]
SCHEDULED_TIME = "2026-11-03T01:00:00Z"


def export(config: Path, *args: str) -> dict[str, Any]:
    done = cli("export", "argo", str(config), "--image", "etl:1", "--workdir", str(config.parent), *args)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def containers_in_dag_order(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = data["spec"].get("workflowSpec", data["spec"])
    found = {template["name"]: template for template in spec["templates"]}
    tasks = {task["name"]: task for task in found[spec["entrypoint"]]["dag"]["tasks"]}
    order = TopologicalSorter({name: task.get("dependencies", []) for name, task in tasks.items()}).static_order()
    return [(name, found[tasks[name]["template"]]["container"]) for name in order]


def run_in_pod(container: dict[str, Any], uid: str) -> subprocess.CompletedProcess[str]:
    """The container's command as Argo runs it: ``{{workflow.*}}`` filled in, in its workingDir."""
    argv = [word.replace("{{workflow.uid}}", uid).replace("{{workflow.scheduledTime}}", SCHEDULED_TIME) for word in container["command"]]
    assert argv[0] == "orchestrator"
    return subprocess.run(
        [str(BIN / "orchestrator"), *argv[1:]], cwd=container["workingDir"], capture_output=True, text=True, check=False,
        env={"ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS, "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())},
    )


def test_every_command_line_of_the_quickstart_runs_and_the_rows_land(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", project, ignore=shutil.ignore_patterns("out", ".orchestrator", "__pycache__"))
    uid = str(uuid.uuid4())
    for _, container in containers_in_dag_order(export(project / "pipeline.yaml")):
        done = run_in_pod(container, uid)
        assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(project / "out" / "warehouse.db") as db:
        assert db.execute("SELECT COUNT(*) FROM customers").fetchone()[0] > 0
        assert db.execute("SELECT COUNT(*) FROM daily_revenue").fetchone()[0] > 0
    assert (project / "out" / "revenue_by_country.csv").exists()
    runs = json.loads(cli("runs", "--config", str(project / "pipeline.yaml"), "--json").stdout)
    assert sorted(r["run_id"] for r in runs) == sorted(f"{uid}.{name}" for name in ("customers", "sales", "revenue_by_country"))


RETRIED = """
pipelines:
  orders:
    type: ETL
    retry: {attempts: 3, initial: 1s}
    schedule: {cron: "0 2 * * *", timezone: Europe/Berlin}
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:extract", kwargs: {day: "${schedule.interval_end}"}}}]}
      load:
        steps:
          - {id: table, plugin: sqlite.write, args: {database: out.db, table: orders}}
          - {id: fragile, plugin: python.call, args: {callable: "steps:fragile"}}
"""
STEPS = """
from pathlib import Path

HERE = Path(__file__).parent


def extract(day):
    calls = HERE / "extract.calls"
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    return [{"id": i, "day": day} for i in range(300)]


def fragile(batch):
    tried = HERE / "fragile.tried"
    if not tried.exists():
        tried.touch()
        raise ConnectionError("the target dropped the connection")
"""


def test_a_task_argo_retries_goes_on_from_its_checkpoints_on_its_tick(write_config) -> None:
    config = write_config(RETRIED, **{"steps.py": STEPS})
    ((_, container),) = containers_in_dag_order(export(config))
    uid = str(uuid.uuid4())
    first = run_in_pod(container, uid)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "the target dropped the connection" in first.stdout
    assert (config.parent / "extract.calls").read_text() == "1", "--no-pipeline-retry: one attempt per try; Argo retries"
    retried = run_in_pod(container, uid)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert (config.parent / "extract.calls").read_text() == "1", "the retry read the extract's checkpoint"
    with sqlite3.connect(config.parent / "out.db") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM orders").fetchone() == (300, 300)
        assert db.execute("SELECT DISTINCT day FROM orders").fetchall() == [("2026-11-03T02:00:00+01:00",)]
    (run,) = json.loads(cli("runs", "--config", str(config), "--json").stdout)
    assert (run["run_id"], run["status"]) == (f"{uid}.orders", "succeeded")
