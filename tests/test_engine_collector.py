"""A run sets aside, for the garbage collector, what existed before it started (see
``orchestrator.engine.collector``), and gives it back when it ends; a process that froze objects
itself keeps managing its collector."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path

import orchestrator

CONFIG = """
pipelines:
  p:
    type: ETL
    phases:
      extract: {steps: [{id: seen, plugin: python.call, args: {callable: "steps:frozen_now"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}
"""

STEPS = """
import gc

def frozen_now():
    return [{"frozen": gc.get_freeze_count()}]
"""


def _seen(config: Path) -> int:
    (row,) = [json.loads(line) for line in (config.parent / "out.jsonl").read_text().splitlines()]
    return int(row["frozen"])


def test_what_existed_before_the_run_is_frozen_while_it_runs_and_only_then(write_config: Callable[..., Path]) -> None:
    config = write_config(CONFIG, **{"steps.py": STEPS})
    assert gc.get_freeze_count() == 0
    assert orchestrator.run(config).ok
    assert _seen(config) > 1000  # the modules, the plan, the plugins: far more than the run's own objects
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_objects_itself_keeps_them_frozen(write_config: Callable[..., Path]) -> None:
    config = write_config(CONFIG, **{"steps.py": STEPS})
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert orchestrator.run(config).ok
        # (a frozen object that dies leaves the frozen set: the count can only go down)
        assert 0 < _seen(config) <= before  # nothing more frozen by the run
        assert 0 < gc.get_freeze_count() <= before  # and nothing unfrozen
    finally:
        gc.unfreeze()
