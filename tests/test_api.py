"""The Python API, ``orchestrator.run`` and ``orchestrator.arun``: the same run, and the same
history, as ``orchestrator run``; real files, real SQLite histories, real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

import orchestrator
from helpers import cli
from orchestrator.errors import ConfigError
from orchestrator.events import Event
from orchestrator.launch import LaunchError

CONFIG = """
params:
  fail: "no"
pipelines:
  numbers:
    type: ETL
    phases:
      extract:
        steps:
          - plugin: python.call
            args: {callable: "steps:numbers"}
      load:
        steps:
          - plugin: sqlite.write
            args: {database: out/numbers.db, table: numbers, mode: append}
  doubled:
    type: ETL
    depends_on: [numbers]
    phases:
      extract:
        steps:
          - plugin: python.call
            args: {callable: "steps:numbers"}
      transform:
        steps:
          - plugin: python.call
            args: {callable: "steps:double", kwargs: {fail: "${params.fail}"}}
      load:
        steps:
          - plugin: jsonl.write
            args: {path: out/doubled.jsonl}
"""

STEPS = '''
def numbers():
    return [{"n": 1}, {"n": 2}, {"n": 3}]


def double(rows, fail):
    if fail == "yes":
        raise ValueError("asked to fail")
    return [{"n": row["n"] * 2} for row in rows]
'''


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    return write_config(CONFIG, **{"steps.py": STEPS})


def history(path: Path, *args: str, where: str = "--config") -> object:
    done = cli("runs", *args, where, str(path), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_run_records_the_history_as_the_cli_does(config: Path) -> None:
    by_cli = cli("run", str(config))
    assert by_cli.returncode == 0, by_cli.stderr
    result = orchestrator.run(config)
    assert result.ok
    assert [o.rows for o in result.pipelines.values()] == [3, 3]
    runs = history(config)
    assert isinstance(runs, list) and len(runs) == 2
    assert runs[0]["run_id"] == result.run_id
    shown_api, shown_cli = (history(config, "show", run["run_id"]) for run in runs)
    for shown in (shown_api, shown_cli):
        assert isinstance(shown, dict)
        del shown["run"]["run_id"]
    # the same record, field for field, but for times, the process that ran it and what it used (a
    # second append to a SQLite table may fit in the pages the first one grew)
    varying = {"run_id", "started", "finished", "elapsed", "pid", "host", "cpu", "rss", "cost", "bytes_written"}
    for shown in (shown_api, shown_cli):
        assert shown["run"]["cpu"] > 0 and shown["run"]["rss"] > 0
        assert all(row["cpu"] is not None and row["rss"] > 0 for row in (*shown["pipelines"], *shown["steps"]))
    for key in ("run", "pipelines", "phases", "steps"):
        a, b = shown_api[key], shown_cli[key]
        strip = (lambda row: {k: v for k, v in row.items() if k not in varying})
        assert ([strip(r) for r in a] if isinstance(a, list) else strip(a)) == (
            [strip(r) for r in b] if isinstance(b, list) else strip(b)
        ), key


def test_selection_params_run_id_and_events(config: Path) -> None:
    events: list[Event] = []
    result = orchestrator.run(config, pipelines=["numbers"], run_id="by-api-1", on_event=events.append)
    assert result.run_id == "by-api-1" and list(result.pipelines) == ["numbers"]
    assert events[0].kind == "run_started" and events[-1].kind == "run_finished"
    assert {e.run_id for e in events} == {"by-api-1"}
    failed = orchestrator.run(config, params={"fail": "yes"})
    assert not failed.ok
    assert failed.pipelines["doubled"].status == "failed"
    assert "asked to fail" in (failed.pipelines["doubled"].error or "")


def test_resume_continues_the_failed_run(config: Path) -> None:
    failed = orchestrator.run(config, params={"fail": "yes"})
    assert not failed.ok
    # --force: the parameters changed (fail: yes -> no), which is the point here
    resumed = orchestrator.run(config, resume="latest", force=True)
    assert resumed.ok and resumed.run_id == failed.run_id
    assert list(resumed.pipelines) == ["numbers", "doubled"]
    with_rows = (config.parent / "out" / "doubled.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in with_rows] == [{"n": 2}, {"n": 4}, {"n": 6}]


def test_arun_runs_on_the_callers_event_loop(config: Path) -> None:
    async def main() -> list[object]:
        async with anyio.create_task_group() as tasks:
            beside: list[object] = []

            async def other_work() -> None:
                await anyio.lowlevel.checkpoint()
                beside.append("done")

            tasks.start_soon(other_work)
            result = await orchestrator.arun(config, executor="process")
        return [result.ok, result.pipelines["doubled"].rows, *beside]

    assert anyio.run(main) == [True, 3, "done"]


def test_a_config_given_as_a_mapping(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    data = {
        "pipelines": {
            "copy": {
                "type": "ETL",
                "phases": {
                    "extract": {"steps": [{"plugin": "jsonl.read", "args": {"path": "in.jsonl"}}]},
                    "load": {"steps": [{"plugin": "jsonl.write", "args": {"path": "out/copy.jsonl"}}]},
                },
            }
        }
    }
    (tmp_path / "in.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    first = orchestrator.run(data, base_dir=tmp_path)
    second = orchestrator.run(data, base_dir=tmp_path)
    assert first.ok and second.ok
    assert (tmp_path / "out" / "copy.jsonl").read_text() == '{"a": 1}\n{"a": 2}\n'
    written = list((tmp_path / ".orchestrator" / "configs").glob("*.yaml"))
    assert len(written) == 1  # the same mapping is the same config file
    runs = history(tmp_path / ".orchestrator" / "state.db", where="--state")
    assert isinstance(runs, list) and [r["run_id"] for r in runs] == [second.run_id, first.run_id]


def _including(*files: str) -> dict[str, object]:
    return {
        "include": list(files),
        "pipelines": {
            "orders": {
                "type": "ETL",
                "phases": {
                    "extract": {"steps": [{"plugin": "jsonl.read", "args": {"path": "in.jsonl"}}]},
                    "load": {"steps": [{"plugin": "sqlite.write", "args": {"database": "${params.warehouse}", "table": "orders"}}]},
                },
            }
        },
    }


def test_a_mappings_includes_start_from_its_base_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "common").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "in.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    # an included file's own includes are relative to it, as always
    (project / "common" / "connections.yaml").write_text("include: [more.yaml]\nparams:\n  warehouse: out/warehouse.db\n")
    (project / "common" / "more.yaml").write_text(
        "pipelines:\n  shared:\n    type: ETL\n    phases:\n"
        "      extract: {steps: [{plugin: jsonl.read, args: {path: in.jsonl}}]}\n"
        "      load: {steps: [{plugin: jsonl.write, args: {path: out/shared.jsonl}}]}\n"
    )
    monkeypatch.chdir(elsewhere)
    result = orchestrator.run(_including("common/connections.yaml"), base_dir=project)
    assert result.ok and set(result.pipelines) == {"orders", "shared"}
    assert (project / "out" / "warehouse.db").is_file() and (project / "out" / "shared.jsonl").is_file()
    assert not (elsewhere / "out").exists()
    # without base_dir, the current directory is the base, as documented
    monkeypatch.chdir(project)
    assert orchestrator.run(_including("common/connections.yaml")).ok


def test_a_mappings_missing_include_is_reported_as_a_files_is(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"a": 1}\n')
    file = tmp_path / "pipeline.yaml"
    file.write_text(json.dumps(_including("common/missing.yaml")))  # JSON is YAML
    with pytest.raises(ConfigError) as as_file:
        orchestrator.run(file)
    with pytest.raises(ConfigError) as as_mapping:
        orchestrator.run(_including("common/missing.yaml"), base_dir=tmp_path)
    (in_file,), (in_mapping,) = as_file.value.problems, as_mapping.value.problems
    assert in_file.path == in_mapping.path == "$.include[0]"
    assert in_file.message == (
        f"included file 'common/missing.yaml' does not exist (looked for {tmp_path / 'common' / 'missing.yaml'}); "
        "check the path, which is relative to this file"
    )
    assert in_mapping.message == in_file.message.replace("relative to this file", "relative to base_dir")
    assert Path(in_mapping.file).parent == tmp_path / ".orchestrator" / "configs"
    # and, as for a file, an included file must be inside the folder the includes start from
    (tmp_path / "outside.yaml").write_text("params: {warehouse: x.db}\n")
    (tmp_path / "project").mkdir()
    with pytest.raises(ConfigError, match=r"'../outside.yaml' is outside base_dir, where every included file must be"):
        orchestrator.run(_including("../outside.yaml"), base_dir=tmp_path / "project")


def test_wrong_input_raises_before_anything_runs(config: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as bad:
        orchestrator.run({"pipelines": {"p": {"type": "ETL", "phases": {}}}}, base_dir=tmp_path)
    assert any("extract" in str(problem) for problem in bad.value.problems)
    with pytest.raises(LaunchError, match="no such pipeline"):
        orchestrator.run(config, pipelines=["numbrs"])
    with pytest.raises(LaunchError, match="executor 'dsk': unknown executor"):
        orchestrator.run(config, executor="dsk")
    assert not (config.parent / "out").exists()


def test_import_orchestrator_does_not_import_the_api() -> None:
    code = "import sys, orchestrator; print('orchestrator.api' in sys.modules, 'orchestrator.launch' in sys.modules, callable(orchestrator.run))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}, check=True)
    assert done.stdout.split() == ["False", "False", "True"]
