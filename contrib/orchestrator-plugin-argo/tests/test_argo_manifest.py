"""The manifest ``orchestrator export argo`` writes: valid against Argo's schema (hera's models of
it, read back with nothing left over), a DAG task per pipeline with ``depends_on`` as its
dependencies, ``retry:`` as the retryStrategy, ``schedule:`` as a CronWorkflow; and what cannot be
one manifest is refused with what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hera.workflows import models as m

from conftest import cli

REPO = Path(__file__).resolve().parents[3]
QUICKSTART = REPO / "examples" / "quickstart" / "pipeline.yaml"

PIPELINES = """
pipelines:
  raw:
    type: ETL
    retry: {attempts: 4, initial: 2s, max: 1m}
    SCHEDULE
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/raw.jsonl}}]}
  clean_rows:
    type: ETL
    depends_on: [raw]
    retry: {attempts: 2, initial: 500ms, backoff: fixed}
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/clean.jsonl}}]}
"""
STEPS = {"steps.py": "def rows():\n    return [{'n': 1}]\n"}


def manifest(config: Path, *args: str) -> dict[str, Any]:
    done = cli("export", "argo", str(config), "--image", "registry.example.com/etl:1.4", *args)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def argo_checked(data: dict[str, Any]) -> Any:
    """The manifest read into hera's model of its kind; every key must be one Argo knows, so
    reading it back gives the same document."""
    model = {"Workflow": m.Workflow, "CronWorkflow": m.CronWorkflow}[data["kind"]].model_validate(data)
    assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == data
    return model


def templates(data: dict[str, Any]) -> dict[str, Any]:
    spec = data["spec"].get("workflowSpec", data["spec"])
    return {template["name"]: template for template in spec["templates"]}


def test_the_quickstart_is_a_workflow_argo_accepts_with_a_task_per_pipeline() -> None:
    data = manifest(QUICKSTART)
    argo_checked(data)
    assert data["kind"] == "Workflow" and data["metadata"] == {"generateName": "pipeline-"}
    found = templates(data)
    tasks = {task["name"]: task for task in found["pipelines"]["dag"]["tasks"]}
    assert set(tasks) == {"customers", "sales", "revenue-by-country-86cd9bac"}
    assert tasks["revenue-by-country-86cd9bac"]["dependencies"] == ["customers", "sales"]
    container = found[tasks["sales"]["template"]]["container"]
    assert container["image"] == "registry.example.com/etl:1.4" and container["workingDir"] == "/pipelines"
    assert container["command"] == [
        "orchestrator", "run", "/pipelines/pipeline.yaml", "--pipeline", "sales", "--only", "--run-id", "{{workflow.uid}}.sales",
        "--no-pipeline-retry",
    ]
    assert "retryStrategy" not in found[tasks["sales"]["template"]]


def test_retries_become_retry_strategies_and_a_schedule_a_cron_workflow(write_config) -> None:
    schedule = 'schedule: {cron: "30 2 * * *", timezone: Europe/Berlin, overlap: queue, catchup: latest}'
    data = manifest(write_config(PIPELINES.replace("SCHEDULE", schedule), **STEPS), "--name", "nightly", "--state-claim", "etl-state")
    argo_checked(data)
    assert data["kind"] == "CronWorkflow" and data["metadata"] == {"name": "nightly"}
    spec = data["spec"]
    assert (spec["schedules"], spec["timezone"], spec["concurrencyPolicy"], spec["startingDeadlineSeconds"]) == (
        ["30 2 * * *"], "Europe/Berlin", "Allow", 86400,
    )
    found = templates(data)
    assert found["run-raw"]["retryStrategy"] == {
        "limit": 3, "retryPolicy": "Always", "backoff": {"duration": "2s", "factor": 2, "cap": "60s"},
    }
    clean = next(t for name, t in found.items() if name.startswith("run-clean-rows-"))
    assert clean["retryStrategy"]["limit"] == 1 and clean["retryStrategy"]["backoff"] == {"duration": "0.5s", "factor": 1, "cap": "60s"}
    assert found["run-raw"]["container"]["command"][-2:] == ["--logical-time", "{{workflow.scheduledTime}}"]
    assert "--logical-time" not in clean["container"]["command"], "a pipeline without a schedule has no tick"
    assert clean["container"]["volumeMounts"] == [{"name": "state", "mountPath": "/pipelines/.orchestrator"}]
    assert spec["workflowSpec"]["volumes"] == [{"name": "state", "persistentVolumeClaim": {"claimName": "etl-state"}}]


@pytest.mark.parametrize(("every", "cron"), [("15m", "*/15 * * * *"), ("6h", "0 */6 * * *"), ("1d", "0 0 * * *")])
def test_an_interval_a_cron_expression_can_write_becomes_one(write_config, every: str, cron: str) -> None:
    data = manifest(write_config(PIPELINES.replace("SCHEDULE", f"schedule: {{every: {every}}}"), **STEPS))
    argo_checked(data)
    assert data["spec"]["schedules"] == [cron] and "startingDeadlineSeconds" not in data["spec"]


@pytest.mark.parametrize(
    ("schedule", "args", "message"),
    [
        ("schedule: {every: 7m}", [], "schedule every: 0:07:00 cannot be written as a cron expression"),
        ("schedule: {every: 1h}", ["--pipeline", "nope"], "--pipeline nope: no such pipeline"),
        ("type: ETL", [], "is not a valid pipeline file"),
    ],
)
def test_what_cannot_be_one_manifest_is_refused_and_nothing_written(write_config, tmp_path: Path, schedule: str, args: list[str], message: str) -> None:
    config = write_config(PIPELINES.replace("SCHEDULE", schedule), **STEPS)
    target = tmp_path / "workflow.yaml"
    done = cli("export", "argo", str(config), "--image", "x:1", "-o", str(target), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not target.exists()


def test_pipelines_of_two_schedules_are_exported_one_schedule_at_a_time(write_config) -> None:
    text = PIPELINES.replace("SCHEDULE", "schedule: {every: 1h}").replace("    depends_on: [raw]\n", "    schedule: {every: 2h}\n")
    config = write_config(text, **STEPS)
    refused = cli("export", "argo", str(config), "--image", "x:1")
    assert refused.returncode == 2 and "have different schedules" in refused.stderr
    assert "--pipeline raw" in refused.stderr
    data = manifest(config, "--pipeline", "clean_rows")
    assert data["spec"]["schedules"] == ["0 */2 * * *"]
    (task,) = templates(data)["pipelines"]["dag"]["tasks"]
    assert task["name"].startswith("clean-rows-") and "dependencies" not in task


def test_the_manifest_goes_to_stdout_or_to_a_file_and_the_engine_is_listed(tmp_path: Path) -> None:
    target = tmp_path / "workflow.yaml"
    done = cli("export", "argo", str(QUICKSTART), "--image", "etl:1", "-o", str(target))
    assert done.returncode == 0 and "wrote" in done.stderr
    assert target.read_text() == cli("export", "argo", str(QUICKSTART), "--image", "etl:1").stdout
    missing = cli("export", "argo", str(QUICKSTART))
    assert missing.returncode == 2 and "Missing option '--image'" in missing.stderr
    listed = cli("plugins", "--json")
    (argo,) = [p for p in yaml.safe_load(listed.stdout)["plugins"] if p["distribution"] == "orchestrator-plugin-argo"]
    assert (argo["engines"], argo["exporters"]) == (["argo"], ["argo"])
