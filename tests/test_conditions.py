"""``when:`` and ``run_if:``: what runs, what is skipped and how a skip is reported (event, history,
terminal, ``--json``), conditions that cannot be evaluated, and the expression library kept out of
runs that do not use it. Real ``orchestrator`` processes, real files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from helpers import ONLY_BUILTIN, cli, loaded_by

STEPS = """\
import os

def rows(name, fail=False):
    if fail:
        raise RuntimeError("boom " + name)
    return [{"name": name}]
"""


def pipeline(name: str, extra: str = "", fail: bool = False, load_extra: str = "") -> str:
    return (
        f"  {name}:\n    type: ETL\n{extra}    phases:\n      extract:\n        steps:\n          - plugin: python.call\n"
        f"            args: {{callable: 'steps:rows', kwargs: {{name: {name}, fail: {str(fail).lower()}}}}}\n"
        f"      load:\n        steps:\n          - plugin: jsonl.write\n            args: {{path: out/{name}.jsonl}}\n{load_extra}"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "steps.py").write_text(STEPS)
    return tmp_path


def run(project: Path, config: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    (project / "p.yaml").write_text(config)
    done = cli("run", "p.yaml", "--json", *args, env={**ONLY_BUILTIN, **(env or {})}, cwd=project)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def outcome(events: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    kinds = ("pipeline_finished", "pipeline_skipped")
    return {e["pipeline"]: (e["status"], e.get("error")) for e in events if e["kind"] in kinds}


def test_a_false_when_skips_the_pipeline_with_its_text_and_the_run_succeeds(project: Path) -> None:
    config = "params:\n  env: dev\npipelines:\n" + pipeline("a") + pipeline(
        "b", "    depends_on: [a]\n    when: params.env == 'prod' and upstream.a.status == 'succeeded'\n"
    ) + pipeline("c", "    depends_on: [b]\n")
    code, events = run(project, config)
    assert code == 0
    assert outcome(events) == {
        "a": ("succeeded", None),
        "b": ("skipped", "skipped: when: params.env == 'prod' and upstream.a.status == 'succeeded' is false"),
        "c": ("skipped", "skipped: depends on 'b', which did not succeed"),
    }
    assert not (project / "out" / "b.jsonl").exists()
    with sqlite3.connect(project / ".orchestrator" / "state.db") as db:
        recorded = dict(db.execute("SELECT pipeline, error FROM pipeline_runs WHERE status = 'skipped'").fetchall())
        (status,) = db.execute("SELECT status FROM runs").fetchone()
    assert recorded["b"].startswith("skipped: when: params.env == 'prod'") and status == "succeeded"
    code, events = run(project, config, "--param", "env=prod")
    assert outcome(events)["b"] == ("succeeded", None) and outcome(events)["c"] == ("succeeded", None)


def test_the_terminal_shows_a_skipped_pipeline_with_its_condition(project: Path) -> None:
    (project / "p.yaml").write_text("pipelines:\n" + pipeline("a", "    when: env.ORCHESTRATOR_TEST_DEPLOY == 'yes'\n"))
    done = cli("run", "p.yaml", env=ONLY_BUILTIN, cwd=project)
    assert done.returncode == 0
    assert "a skipped: when: env.ORCHESTRATOR_TEST_DEPLOY == 'yes' is false" in done.stdout
    done = cli("run", "p.yaml", env={**ONLY_BUILTIN, "ORCHESTRATOR_TEST_DEPLOY": "yes"}, cwd=project)
    assert "a succeeded" in done.stdout


def test_a_false_step_condition_leaves_the_step_out_and_reports_it(project: Path) -> None:
    extra_load = "          - plugin: jsonl.write\n            id: publish\n            when: params.publish\n            args: {path: out/published.jsonl}\n"
    config = "params:\n  publish: false\npipelines:\n" + pipeline("a", load_extra=extra_load)
    code, events = run(project, config)
    assert code == 0
    skipped = [e for e in events if e["kind"] == "step_finished" and e["step"] == "publish"]
    assert skipped == [{**skipped[0], "status": "skipped", "error": "skipped: when: params.publish is false"}]
    assert (project / "out" / "a.jsonl").exists() and not (project / "out" / "published.jsonl").exists()
    code, events = run(project, config, "--param", "publish=true")
    assert (project / "out" / "published.jsonl").exists()


@pytest.mark.parametrize(
    ("rule", "upstream_fails", "runs"),
    [
        ("all_succeeded", False, True), ("all_succeeded", True, False),
        ("all_done", True, True), ("all_done", False, True),
        ("any_failed", True, True), ("any_failed", False, False),
        ("any_succeeded", True, True), ("any_succeeded", False, True),
    ],
)
def test_run_if_rules(project: Path, rule: str, upstream_fails: bool, runs: bool) -> None:
    config = "pipelines:\n" + pipeline("ok") + pipeline("maybe", fail=upstream_fails) + pipeline(
        "after", f"    depends_on: [ok, maybe]\n    run_if: {rule}\n"
    )
    code, events = run(project, config)
    status, error = outcome(events)["after"]
    assert status == ("succeeded" if runs else "skipped"), error
    assert code == (1 if upstream_fails else 0)
    if not runs and rule != "all_succeeded":
        assert error == f"skipped: run_if: {rule}, and the pipelines it depends on ended 2 succeeded"


def test_a_condition_that_cannot_be_evaluated_fails_its_pipeline_only(project: Path) -> None:
    config = "params:\n  limit: 3\npipelines:\n" + pipeline("a", "    when: params.limit > 'x'\n") + pipeline("b")
    code, events = run(project, config)
    assert code == 1
    status, error = outcome(events)["a"]
    assert status == "failed" and error is not None and error == (
        "when: \"params.limit > 'x'\" could not be evaluated: '>' not supported between instances of 'int' and 'str'"
    )
    assert outcome(events)["b"] == ("succeeded", None)


def test_a_foreach_item_in_a_condition(project: Path) -> None:
    config = "pipelines:\n" + pipeline("a", "    foreach: [eu, us]\n    when: item != 'us'\n")
    code, events = run(project, config)
    assert code == 0
    assert outcome(events) == {"a[eu]": ("succeeded", None), "a[us]": ("skipped", "skipped: when: item != 'us' is false")}


def test_validation_reports_a_bad_condition_with_its_line(project: Path) -> None:
    (project / "p.yaml").write_text("pipelines:\n" + pipeline("a", "    when: upstream.nothing.status == 'failed'\n"))
    done = cli("validate", "p.yaml", env=ONLY_BUILTIN, cwd=project)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("p.yaml:4: $.pipelines.a.when: unknown upstream field 'nothing' (upstream has none)")


HEAVY = ("simpleeval", "orchestrator.config.conditions")



def test_the_expression_library_is_loaded_only_by_files_with_a_condition(project: Path) -> None:
    plain = project / "plain.yaml"
    plain.write_text("pipelines:\n" + pipeline("a") + pipeline("b", "    depends_on: [a]\n    run_if: all_done\n    foreach: [x]\n"))
    assert loaded_by("run", plain, HEAVY) == []
    conditional = project / "conditional.yaml"
    conditional.write_text("pipelines:\n" + pipeline("a", "    when: len('x') == 1\n"))
    assert loaded_by("run", conditional, HEAVY) == ["orchestrator.config.conditions", "simpleeval"]


def test_a_condition_reads_the_schedule_values(project: Path) -> None:
    config = "pipelines:\n" + pipeline("a", "    when: schedule.logical_time > '2000-01-01'\n") + pipeline("b", "    when: schedule.logical_time < '2000'\n")
    code, events = run(project, config)
    assert code == 0
    assert outcome(events) == {"a": ("succeeded", None), "b": ("skipped", "skipped: when: schedule.logical_time < '2000' is false")}
