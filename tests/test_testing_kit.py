"""The test kit for plugin authors, used here as a plugin's own tests use it: through the fixtures
its ``pytest11`` entry point provides, and the conformance suite run over the built-in steps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestrator import hookimpl
from orchestrator.testing import conformance_suite

TestBuiltinConformance = conformance_suite(
    "builtin",
    examples={
        "csv.read": {"path": "in.csv"},
        "csv.write": {"path": "out/out.csv"},
        "jsonl.read": {"path": "in.jsonl"},
        "jsonl.write": {"path": "out/out.jsonl"},
        "sqlite.read": {"database": "in.db", "query": "SELECT 1"},
        "sqlite.write": {"database": "out/out.db", "table": "t"},
        "sqlite.execute": {"database": "out/out.db", "sql": "SELECT 1"},
        "python.call": {"callable": "builtins:list"},
    },
    idempotent_loads={"sqlite.write": lambda args, base: _rows(base / args["database"], args["table"])},
    read_back={
        "csv.write": lambda args, base: _csv_rows(base / args["path"]),
        "jsonl.write": lambda args, base: _jsonl_rows(base / args["path"]),
        "sqlite.write": lambda args, base: _table_rows(base / args["database"], args["table"]),
        "python.call": None,  # hands the rows to the user's function: no target to read back
        "pipeline.handoff": lambda args, base: _handed_rows(base),
    },
)


def _handed_rows(base: Path) -> list[dict]:
    """The rows ``pipeline.handoff`` kept for the pipelines taking them, as they would read them."""
    from orchestrator.runstate.frames import read_frames

    return [row for path in base.glob(".orchestrator/handoff/*/*.rows") for batch in read_frames(path) for row in batch]


def _csv_rows(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _jsonl_rows(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines()]


def _table_rows(database: Path, table: str) -> list[dict]:
    import sqlite3

    with sqlite3.connect(database) as db:
        cursor = db.execute(f'SELECT * FROM "{table}"')
        return [dict(zip([c[0] for c in cursor.description], row)) for row in cursor]


def _rows(database: Path, table: str) -> int:
    import sqlite3

    with sqlite3.connect(database) as db:
        try:
            return db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        except sqlite3.OperationalError:  # no table yet: nothing loaded
            return 0


class Doubler:
    """A plugin object registered for one test only."""

    @hookimpl
    def register_transformers(self, register) -> None:
        register("kit.double", lambda ctx, rows, factor=2: [{"n": r["n"] * factor} for r in rows],
                 schema={"type": "object", "properties": {"factor": {"type": "integer"}}})


PIPELINE = """
pipelines:
  p:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "source_rows:three"}}]}
      transform: {steps: [{id: twice, plugin: kit.double, args: {factor: 3}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}
"""


def test_run_pipeline_records_what_each_step_received_and_returned(run_pipeline, register_plugin) -> None:
    register_plugin(Doubler(), name="kit")
    run = run_pipeline(PIPELINE, files={"source_rows.py": "def three():\n    return [{'n': 1}, {'n': 2}, {'n': 3}]\n"})
    assert run.ok, run.result
    assert run.step("src").returned == [[{"n": 1}, {"n": 2}, {"n": 3}]]
    assert run.step("twice").received == [[{"n": 1}, {"n": 2}, {"n": 3}]]
    assert run.step("twice").args == {"factor": 3}
    assert run.step("twice").rows_returned == [{"n": 3}, {"n": 6}, {"n": 9}]
    assert run.step("out").rows_received == [{"n": 3}, {"n": 6}, {"n": 9}]
    assert run.step("out").returned == [3]
    assert (run.base_dir / "out.jsonl").read_text().count("\n") == 3


def test_run_pipeline_records_streams_batch_by_batch(run_pipeline) -> None:
    run = run_pipeline(
        {
            "pipelines": {
                "p": {
                    "type": "ETL",
                    "phases": {
                        "extract": {"steps": [{"id": "src", "plugin": "csv.read", "args": {"path": "in.csv", "batch_size": 2}}]},
                        "load": {"steps": [{"id": "out", "plugin": "csv.write", "args": {"path": "out.csv"}}]},
                    },
                }
            }
        },
        files={"in.csv": "a\n1\n2\n3\n4\n5\n"},
    )
    assert run.ok
    assert [len(batch) for batch in run.step("src").returned] == [2, 2, 1]
    assert [len(batch) for batch in run.step("out").received] == [2, 2, 1]


def test_a_registered_plugin_is_gone_in_the_next_test(orchestrator_plugins) -> None:
    assert orchestrator_plugins.registry.get("transform", "kit.double") is None


def test_hook_recorder_sees_the_lifecycle_in_order(run_pipeline, hook_recorder, register_plugin) -> None:
    register_plugin(Doubler(), name="kit")
    run_pipeline(PIPELINE, files={"source_rows.py": "def three():\n    return [{'n': 1}]\n"})
    names = hook_recorder.names()
    assert names[0] == "before_pipeline_run" and names[-1] == "after_pipeline_run"
    assert [c["context"].step_id for c in hook_recorder.of("after_step_run")] == ["src", "twice", "out"]
    assert hook_recorder.of("after_pipeline_run")[0]["status"] == "succeeded"


def test_a_failing_pipeline_is_reported_not_raised(run_pipeline) -> None:
    run = run_pipeline(PIPELINE.replace("kit.double", "python.call").replace("{factor: 3}", '{callable: "source_rows:boom"}'),
                       files={"source_rows.py": "def three():\n    return [1]\n\ndef boom(rows):\n    raise ValueError('no')\n"})
    assert not run.ok
    assert run.error("p") == "step 'twice' (python.call) failed: ValueError: no"


def test_conformance_suite_fails_for_a_plugin_that_is_not_installed(tmp_path: Path) -> None:
    """A misspelt or missing plugin makes the suite fail, not pass vacuously."""
    import subprocess

    (tmp_path / "test_broken.py").write_text(
        "from orchestrator.testing import conformance_suite\n"
        "TestBroken = conformance_suite('greeting')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_broken.py")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    # 'greeting' is not installed here: the suite says so instead of passing vacuously
    assert result.returncode == 1
    assert "no installed plugin named 'greeting' registers a step, an executor or a notification channel" in result.stdout


def _transform_without_data(ctx):
    return []


def test_conformance_rejects_a_transform_without_a_data_parameter() -> None:
    from orchestrator.plugins.registry import Origin, Registration

    entry = Registration("bad.transform", "transform", _transform_without_data, {"type": "object"}, "", Origin("bad", "tests", "0"))
    suite = conformance_suite("builtin")
    with pytest.raises(AssertionError, match=r"a transform step is called as step\(ctx, data, \*\*args\)"):
        suite().test_signature_fits_the_phase(entry)


def test_the_testing_page_examples_pass(tmp_path: Path) -> None:
    """docs/plugins/testing-a-plugin.md: every test module it shows passes under pytest."""
    import os
    import subprocess

    from test_docs import DOCS, blocks

    modules = [b for b in blocks(DOCS / "plugins" / "testing-a-plugin.md") if b.title and b.title.startswith("tests/")]
    assert len(modules) == 2
    for block in modules:
        target = tmp_path / block.title
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.body)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" not in done.stdout and " passed" in done.stdout
