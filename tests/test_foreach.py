"""``foreach:``: one instance per item, from a list, a list parameter or another pipeline's rows;
instances named by the documented rule, bounded by ``max_parallel``, waited for by dependents,
drawn by ``graph``, recorded in the history and resumed alone. Real files, real ``orchestrator``
processes."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import ONLY_BUILTIN, cli
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.errors import ConfigError
from orchestrator.plugins.discovery import Plugins

STEPS = """\
import os, threading, time

_lock = threading.Lock()
running = 0
most = 0

def rows(name, size=2):
    if name == os.environ.get("FAIL_ON"):
        raise RuntimeError("boom " + name)
    return [{"name": name, "i": i} for i in range(size)]

def files():
    return [{"name": n, "size": s} for n, s in (("a", 1), ("b", 2), ("c", 3))]

def slow(name):
    global running, most
    with _lock:
        running += 1
        most = max(most, running)
    time.sleep(0.05)
    with _lock:
        running -= 1
    return [{"name": name}]
"""


def pipeline(extract: str, load: str, extra: str = "", name: str = "ingest") -> str:
    return (
        f"  {name}:\n    type: ETL\n{extra}    phases:\n      extract:\n        steps:\n          - plugin: python.call\n"
        f"            args: {extract}\n      load:\n        steps:\n          - plugin: jsonl.write\n            args: {load}\n"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "steps.py").write_text(STEPS)
    return tmp_path


def run(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    done = cli("run", *args, "--json", env={**ONLY_BUILTIN, **(env or {})}, cwd=project)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def ended(events: list[dict[str, Any]]) -> dict[str, str]:
    kinds = ("pipeline_finished", "pipeline_skipped", "pipeline_reused")
    return {e["pipeline"]: e["kind"].removeprefix("pipeline_") + ":" + e["status"] for e in events if e["kind"] in kinds}


def test_a_list_makes_one_named_instance_per_item_and_dependents_wait_for_all(project: Path) -> None:
    config = project / "p.yaml"
    config.write_text(
        "pipelines:\n"
        + pipeline('{callable: "steps:rows", kwargs: {name: "${item}"}}', '{path: "out/${item}.jsonl"}', "    foreach: [eu, us, 'ap south', 7]\n")
        + pipeline('{callable: "steps:rows", kwargs: {name: all}}', "{path: out/report.jsonl}", "    depends_on: [ingest]\n", "report")
    )
    code, events = run(project, "p.yaml")
    assert code == 0
    # 'ap south' is no key (a space), so it is named by its position
    assert set(ended(events)) == {"ingest[eu]", "ingest[us]", "ingest[2]", "ingest[7]", "report"}
    assert json.loads((project / "out" / "ap south.jsonl").read_text().splitlines()[0]) == {"name": "ap south", "i": 0}
    finished = [e["pipeline"] for e in events if e["kind"] == "pipeline_finished"]
    started = [e["pipeline"] for e in events if e["kind"] == "pipeline_started"]
    assert finished.index("ingest[7]") < started.index("report")


def test_graph_shows_every_instance_in_each_format(project: Path) -> None:
    config = project / "p.yaml"
    config.write_text(
        "pipelines:\n"
        + pipeline('{callable: "steps:rows", kwargs: {name: "${item}"}}', '{path: "out/${item}.jsonl"}', "    foreach: [eu, us]\n")
        + pipeline('{callable: "steps:rows", kwargs: {name: x}}', "{path: out/r.jsonl}", "    depends_on: [ingest]\n    run_if: any_failed\n", "alert")
    )
    text = cli("graph", "p.yaml", env=ONLY_BUILTIN, cwd=project).stdout
    assert text == "ingest[eu] (ETL)\ningest[us] (ETL)\nalert (ETL, run_if: any_failed)  <- ingest[eu], ingest[us]\n"
    mermaid = cli("graph", "p.yaml", "--format", "mermaid", env=ONLY_BUILTIN, cwd=project).stdout
    assert '    p_ingest_eu_["ingest[eu] (ETL)"]' in mermaid and "    p_ingest_us_ --> p_alert" in mermaid
    dot = cli("graph", "p.yaml", "--format", "dot", env=ONLY_BUILTIN, cwd=project).stdout
    assert '    "ingest[eu]" -> "alert";' in dot


def test_a_list_parameter_from_the_command_line_and_mapping_items_with_a_key(project: Path) -> None:
    config = project / "p.yaml"
    config.write_text(
        "params:\n  regions: [eu]\npipelines:\n"
        + pipeline('{callable: "steps:rows", kwargs: {name: "${r}"}}', '{path: "out/${r}.jsonl"}', "    foreach: {items: '${params.regions}', as: r}\n")
        + pipeline(
            '{callable: "steps:rows", kwargs: {name: "${item.name}", size: "${item.size}"}}', '{path: "out/k-${item.name}.jsonl"}',
            "    foreach: {items: [{name: x, size: 3}, {name: y, size: 1}], key: name}\n", "keyed",
        )
    )
    code, events = run(project, "p.yaml", "--param", "regions=eu,us,apac")
    assert code == 0
    assert set(ended(events)) == {"ingest[eu]", "ingest[us]", "ingest[apac]", "keyed[x]", "keyed[y]"}
    assert len((project / "out" / "k-x.jsonl").read_text().splitlines()) == 3  # "${item.size}" kept its type
    code, events = run(project, "p.yaml", "--param", "regions=us", "--pipeline", "ingest")
    assert set(ended(events)) == {"ingest[us]"}


def test_max_parallel_bounds_the_instances_running_at_once(project: Path, plugins: Plugins) -> None:
    # a module name of its own: python.call imports by name, and other tests have a "steps" module
    probe = "max_parallel_probe"
    (project / f"{probe}.py").write_text(STEPS)
    sys.modules.pop(probe, None)

    def most_at_once(bound: str) -> int:
        config = project / "bounded.yaml"
        config.write_text(
            "pipelines:\n"
            + pipeline(f'{{callable: "{probe}:slow", kwargs: {{name: "${{item}}"}}}}', '{path: "out/${item}.jsonl"}', f"    foreach: [a, b, c, d, e, f]\n{bound}")
        )
        if probe in sys.modules:
            sys.modules[probe].most = 0
        result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
        assert result.ok, result
        return int(sys.modules[probe].most)

    try:
        assert most_at_once("    max_parallel: 2\n") == 2
        assert most_at_once("") > 2  # the control: without the bound they overlap more
    finally:
        sys.modules.pop(probe, None)


def test_a_failed_instance_resumes_alone(project: Path) -> None:
    config = project / "p.yaml"
    config.write_text(
        "pipelines:\n"
        + pipeline('{callable: "steps:rows", kwargs: {name: "${item}"}}', '{path: "out/${item}.jsonl"}', "    foreach: [a, b, c]\n")
    )
    code, events = run(project, "p.yaml", env={"FAIL_ON": "b"})
    assert code == 1
    assert ended(events) == {"ingest[a]": "finished:succeeded", "ingest[b]": "finished:failed", "ingest[c]": "finished:succeeded"}
    code, events = run(project, "p.yaml", "--resume")
    assert code == 0
    assert ended(events) == {"ingest[a]": "reused:succeeded", "ingest[b]": "finished:succeeded", "ingest[c]": "reused:succeeded"}
    shown = cli("runs", "show", "--config", "p.yaml", env=ONLY_BUILTIN, cwd=project).stdout
    assert re.search(r"^ingest\[b\] +succeeded +[0-9]", shown, re.MULTILINE), shown


def test_from_another_pipelines_rows_at_run_time_on_local_and_process(project: Path) -> None:
    for executor in ("local", "process"):
        config = project / f"{executor}.yaml"
        config.write_text(
            f"executor: {executor}\npipelines:\n"
            + pipeline('{callable: "steps:files"}', "{path: out/files.jsonl}", name="list_files")
            + pipeline(
                '{callable: "steps:rows", kwargs: {name: "${file.name}", size: "${file.size}"}}', f'{{path: "out/{executor}-${{file.name}}.jsonl"}}',
                "    foreach: {from: list_files, as: file, key: name}\n    max_parallel: 2\n",
            )
            + pipeline('{callable: "steps:rows", kwargs: {name: z}}', "{path: out/z.jsonl}", "    depends_on: [ingest]\n", "after")
        )
        code, events = run(project, config.name, env={"FAIL_ON": "b"})
        assert code == 1
        assert ended(events) == {
            "list_files": "finished:succeeded", "ingest[a]": "finished:succeeded", "ingest[b]": "finished:failed",
            "ingest[c]": "finished:succeeded", "after": "skipped:skipped",
        }
        assert len((project / "out" / f"{executor}-c.jsonl").read_text().splitlines()) == 3
        code, events = run(project, config.name, "--resume")
        assert code == 0, events
        assert ended(events) == {
            "list_files": "reused:succeeded", "ingest[a]": "reused:succeeded", "ingest[b]": "finished:succeeded",
            "ingest[c]": "reused:succeeded", "after": "finished:succeeded",
        }
        assert not any((project / ".orchestrator" / "handoff").iterdir())  # the kept rows go once the run succeeded


def test_rows_that_cannot_make_instances_fail_the_foreach_pipeline_with_a_message(project: Path) -> None:
    (project / "dupes.py").write_text("def rows():\n    return [{'name': 'a'}, {'name': 'a'}]\n")
    config = project / "p.yaml"
    config.write_text(
        "pipelines:\n"
        + pipeline('{callable: "dupes:rows"}', "{path: out/files.jsonl}", name="list_files")
        + pipeline('{callable: "steps:rows", kwargs: {name: "${item.name}"}}', "{path: out/x.jsonl}", "    foreach: {from: list_files, key: name}\n")
    )
    code, events = run(project, "p.yaml")
    assert code == 1
    failed = next(e for e in events if e.get("pipeline") == "ingest" and e["kind"] == "pipeline_finished")
    assert failed["error"] == "foreach: items 0 and 1 both make instance [a]; every item needs a key of its own"


def test_ten_thousand_instances_are_ten_thousand_pipelines(project: Path, plugins: Plugins) -> None:
    config = project / "many.yaml"
    config.write_text(
        "params:\n  n: 0\npipelines:\n"
        + pipeline('{callable: "steps:rows", kwargs: {name: "${item}", size: 0}}', '{path: "out/${item}.jsonl"}', "    foreach: " + json.dumps(list(range(10_000))) + "\n")
    )
    plan = load_plan(config, plugins.registry)
    assert len(plan.pipelines) == 10_000 and plan.groups["ingest"][-1] == "ingest[9999]"
    assert plan.pipelines["ingest[42]"].phases["load"][0].args == {"path": "out/42.jsonl"}


def test_a_key_that_cannot_name_an_instance_is_refused_when_a_plan_is_built(project: Path, plugins: Plugins) -> None:
    config = project / "p.yaml"
    config.write_text("pipelines:\n" + pipeline('{callable: "steps:rows", kwargs: {name: x}}', "{path: out/x.jsonl}", "    foreach: {items: [{k: 'a/b'}], key: k}\n"))
    with pytest.raises(ConfigError) as caught:
        load_plan(config, plugins.registry)
    assert "cannot name an instance" in str(caught.value) and ":4:" in str(caught.value)


def test_instances_are_recorded_in_the_history(project: Path) -> None:
    config = project / "p.yaml"
    config.write_text("pipelines:\n" + pipeline('{callable: "steps:rows", kwargs: {name: "${item}"}}', '{path: "out/${item}.jsonl"}', "    foreach: [a, b]\n"))
    assert run(project, "p.yaml")[0] == 0
    with sqlite3.connect(project / ".orchestrator" / "state.db") as db:
        names = sorted(row[0] for row in db.execute("SELECT pipeline FROM pipeline_runs"))
    assert names == ["ingest[a]", "ingest[b]"]
