"""``extract: {from: PIPELINE}``: a pipeline takes the rows another one loaded as its extract, with
no target in between, on ``local`` and ``process``; the dependency is implied, and a resume
reuses the source and goes on from what it kept. Real ``orchestrator`` processes, real files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import ONLY_BUILTIN, cli

STEPS = """\
import os

def orders():
    return [{"id": i, "amount": i * 10} for i in range(1, 6)]

def big(batch):
    if os.environ.get("FAIL_BIG"):
        raise RuntimeError("big failed")
    return [row for row in batch if row["amount"] >= 30]
"""

CONFIG = """\
executor: {executor}
pipelines:
  orders:
    type: ETL
    phases:
      extract:
        steps:
          - plugin: python.call
            args: {{callable: "steps:orders"}}
      load:
        steps:
          - plugin: jsonl.write
            args: {{path: out/orders.jsonl}}
  big_orders:
    type: ETL
    extract: {{from: orders}}
    phases:
      transform:
        steps:
          - plugin: python.call
            args: {{callable: "steps:big"}}
      load:
        steps:
          - plugin: jsonl.write
            args: {{path: out/big.jsonl}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "steps.py").write_text(STEPS)
    return tmp_path


def run(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    done = cli("run", "p.yaml", "--json", *args, env={**ONLY_BUILTIN, **(env or {})}, cwd=project)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def ended(events: list[dict[str, Any]]) -> dict[str, str]:
    kinds = ("pipeline_finished", "pipeline_skipped", "pipeline_reused")
    return {e["pipeline"]: e["kind"].removeprefix("pipeline_") + ":" + e["status"] for e in events if e["kind"] in kinds}


@pytest.mark.parametrize("executor", ["local", "process"])
def test_a_pipeline_takes_another_ones_rows_as_its_extract(project: Path, executor: str) -> None:
    (project / "p.yaml").write_text(CONFIG.format(executor=executor))
    code, events = run(project)
    assert code == 0
    assert ended(events) == {"orders": "finished:succeeded", "big_orders": "finished:succeeded"}
    rows = [json.loads(line) for line in (project / "out" / "big.jsonl").read_text().splitlines()]
    assert rows == [{"id": 3, "amount": 30}, {"id": 4, "amount": 40}, {"id": 5, "amount": 50}]
    graph = cli("graph", "p.yaml", env=ONLY_BUILTIN, cwd=project).stdout
    assert graph == "orders (ETL)\nbig_orders (ETL, extract from orders)  <- orders\n"


def test_a_resume_reuses_the_source_and_its_rows(project: Path) -> None:
    (project / "p.yaml").write_text(CONFIG.format(executor="local"))
    code, events = run(project, env={"FAIL_BIG": "1"})
    assert code == 1 and ended(events) == {"orders": "finished:succeeded", "big_orders": "finished:failed"}
    (project / "steps.py").write_text(STEPS.replace("def orders():", "def orders():\n    raise RuntimeError('must not run again')"))
    code, events = run(project, "--resume")
    assert code == 0, events
    assert ended(events) == {"orders": "reused:succeeded", "big_orders": "finished:succeeded"}
    assert len((project / "out" / "big.jsonl").read_text().splitlines()) == 3
