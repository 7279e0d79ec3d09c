"""The history writes a row that starts and ends within one batch as one statement: the rows it
records must be the ones the start and end statements, committed apart, record."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.events import Event, Kind, discard
from orchestrator.plugins.discovery import Plugins
from orchestrator.runstate.history import open_state

#: a step retried twice before it succeeds, a pipeline failing in its transform after its extract
#: succeeded (its load never starts), and one skipped because it depends on the failed one
CONFIG = """
state: "off"
pipelines:
  flaky:
    type: ETL
    phases:
      extract:
        steps:
          - {id: src, plugin: python.call, args: {callable: "steps:flaky"}, retry: {attempts: 3, initial: 1ms}}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: flaky.jsonl}}]}
  bad:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:three"}}]}
      transform: {steps: [{id: boom, plugin: python.call, args: {callable: "steps:boom"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: bad.jsonl}}]}
  after:
    type: ETL
    depends_on: [bad]
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:three"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: after.jsonl}}]}
"""
STEPS = """
calls = []

def flaky():
    calls.append(1)
    if len(calls) < 3:
        raise ConnectionError(f"try {len(calls)} failed")
    return [{"a": 1}]

def three():
    return [{"a": 1}, {"a": 2}, {"a": 3}]

def boom(rows):
    raise ValueError("no")
"""
TABLES = ("pipeline_runs", "phase_runs", "step_attempts")


def recorded(base: Path, plugins: Plugins) -> tuple[Path, list[Event]]:
    (base / "steps.py").write_text(STEPS)
    config = base / "pipeline.yaml"
    config.write_text(CONFIG)
    events: list[Event] = []
    result = Engine(load_plan(config, plugins.registry), plugins, events.append).run_sync()
    assert not result.ok and result.pipelines["flaky"].status == "succeeded"
    return config, events


def rows_of(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(database) as db:
        return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in TABLES}


def replayed(config: Path, events: list[Event], plugins: Plugins, database: Path, *, flush_each: bool) -> dict[str, list[tuple[Any, ...]]]:
    """The run's events recorded into a fresh SQLite history: in batches as a run records them,
    or each committed before the next comes (no row's start and end then share a batch)."""
    store = open_state(f"sqlite:///{database}", config.parent)
    sink = store.recording(events[0].run_id, load_plan(config, plugins.registry), discard)
    for event in events:
        sink(event)
        if flush_each:
            store.flush()
    store.close()
    return rows_of(database)


def test_rows_written_whole_are_the_rows_written_in_two_statements(tmp_path: Path, plugins: Plugins) -> None:
    config, events = recorded(tmp_path, plugins)
    batched = replayed(config, events, plugins, tmp_path / "batched.db", flush_each=False)
    apart = replayed(config, events, plugins, tmp_path / "apart.db", flush_each=True)
    assert batched == apart
    # what both must hold: every attempt of the retried step, the failed pipeline's phases closed
    attempts = sorted((row[1], row[3], row[5], row[6]) for row in batched["step_attempts"])
    assert attempts == [
        ("bad", "boom", 1, "failed"), ("bad", "src", 1, "succeeded"),
        ("flaky", "out", 1, "succeeded"), ("flaky", "src", 1, "failed"), ("flaky", "src", 2, "failed"),
        ("flaky", "src", 3, "succeeded"),
    ]
    assert sorted((row[1], row[2], row[3]) for row in batched["phase_runs"]) == [
        ("bad", "extract", "succeeded"), ("bad", "transform", "failed"),
        ("flaky", "extract", "succeeded"), ("flaky", "load", "succeeded"),
    ]
    assert sorted((row[1], row[2]) for row in batched["pipeline_runs"]) == [
        ("after", "skipped"), ("bad", "failed"), ("flaky", "succeeded"),
    ]


def test_a_phase_whose_end_never_came_is_closed_with_its_pipeline(tmp_path: Path, plugins: Plugins) -> None:
    """A pipeline whose worker died mid-phase: its phase's end never comes, the pipeline's does.
    The phase's row then ends as the pipeline did, batched or not."""
    config, events = recorded(tmp_path, plugins)
    run_id = events[0].run_id
    cut = [
        Event(Kind.PIPELINE_STARTED, run_id, "lost", time=1.0),
        Event(Kind.PHASE_STARTED, run_id, "lost", "extract", time=2.0),
        Event(Kind.PIPELINE_FINISHED, run_id, "lost", status="failed", error="its worker died", time=3.0),
    ]
    for flush_each in (False, True):
        rows = replayed(config, cut, plugins, tmp_path / f"cut-{flush_each}.db", flush_each=flush_each)
        assert [row[1:6] for row in rows["phase_runs"]] == [("lost", "extract", "failed", 2.0, 3.0)]
        assert [(row[1], row[2], row[4], row[5]) for row in rows["pipeline_runs"]] == [("lost", "failed", 1.0, 3.0)]
