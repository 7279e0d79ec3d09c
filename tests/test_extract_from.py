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


LIVE_STEPS = """\
import datetime
import decimal
import json
import os
import threading
import time

seen = threading.Event()
produced = 0


def waiting_source():
    yield [{"id": 1}]
    if not seen.wait(60):
        raise RuntimeError("the taker saw nothing while its source was still extracting")
    yield [{"id": 2}]


def taker_load(batch):
    seen.set()


def many():
    global produced
    for number in range(400):
        produced += 1
        yield [{"id": number}]


def slow_taker(batch):
    if batch[0]["id"] == 0:
        time.sleep(1.0)
        with open("out/ahead.txt", "w") as handle:
            handle.write(str(produced))


def typed():
    return [{"day": datetime.date(2026, 12, 7), "amount": decimal.Decimal("1.10"), "at": datetime.datetime(2026, 12, 7, 5, 0)}]


def types_seen(batch):
    with open("out/types.json", "a") as handle:
        handle.write(json.dumps({key: type(value).__name__ for key, value in batch[0].items()}) + "\\n")


def in_batches():
    for number in range(5):
        if number == 3 and os.environ.get("FAIL_AT_3"):
            raise RuntimeError("the source broke at batch 3")
        yield [{"id": 2 * number}, {"id": 2 * number + 1}]
"""


def pair(extract: str, load: str, *, executor: str = "local", taker_load: str | None = None) -> str:
    """A source whose extract is ``steps:<extract>`` and a pipeline taking its rows, whose load is
    ``steps:<load>`` (or the YAML step ``taker_load``)."""
    step = taker_load or f'{{plugin: python.call, args: {{callable: "steps:{load}"}}}}'
    return (
        f"executor: {executor}\n"
        "pipelines:\n"
        "  source:\n    type: ETL\n    phases:\n"
        f'      extract: {{steps: [{{plugin: python.call, args: {{callable: "steps:{extract}"}}}}]}}\n'
        "      load: {steps: [{plugin: jsonl.write, args: {path: out/source.jsonl}}]}\n"
        "  taker:\n    type: ETL\n    extract: {from: source}\n    phases:\n"
        f"      load: {{steps: [{step}]}}\n"
    )


@pytest.fixture
def live(tmp_path: Path) -> Path:
    (tmp_path / "steps.py").write_text(LIVE_STEPS)
    (tmp_path / "out").mkdir()
    return tmp_path


def test_on_local_the_taker_loads_rows_while_its_source_still_extracts(live: Path) -> None:
    """The source's extract waits, after its first batch, until the taker's load saw that batch:
    had the taker waited for the source to end, the source would give up and fail."""
    (live / "p.yaml").write_text(pair("waiting_source", "taker_load"))
    code, events = run(live)
    assert code == 0, [e.get("error") for e in events if e.get("error")]
    assert ended(events) == {"source": "finished:succeeded", "taker": "finished:succeeded"}


def test_a_slow_taker_holds_its_source_back_instead_of_letting_rows_pile_up_in_memory(live: Path) -> None:
    (live / "p.yaml").write_text(pair("many", "slow_taker"))
    code, _events = run(live)
    assert code == 0
    ahead = int((live / "out" / "ahead.txt").read_text())
    assert ahead <= 40, f"the source extracted {ahead} of 400 batches while the taker was busy with its first"


@pytest.mark.parametrize("executor", ["local", "process"])
def test_values_keep_their_types_from_one_pipeline_to_the_next(live: Path, executor: str) -> None:
    (live / "p.yaml").write_text(pair("typed", "types_seen", executor=executor))
    code, _events = run(live)
    assert code == 0
    assert json.loads((live / "out" / "types.json").read_text()) == {"day": "date", "amount": "Decimal", "at": "datetime"}


def test_a_source_failing_mid_stream_fails_its_taker_and_the_resume_loads_every_row_once(live: Path) -> None:
    sqlite_load = "{plugin: sqlite.write, args: {database: out/taken.db, table: taken}}"
    (live / "p.yaml").write_text(pair("in_batches", "", taker_load=sqlite_load))
    code, events = run(live, env={"FAIL_AT_3": "1"})
    assert code == 1
    assert ended(events) == {"source": "finished:failed", "taker": "finished:failed"}
    (error,) = [e["error"] for e in events if e["kind"] == "pipeline_finished" and e["pipeline"] == "taker"]
    assert "pipeline 'source' stopped before it handed over all its rows" in error
    code, events = run(live, "--resume")
    assert code == 0, [e.get("error") for e in events if e.get("error")]
    import sqlite3

    with sqlite3.connect(live / "out" / "taken.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM taken ORDER BY id")]
    assert ids == list(range(10))


def test_a_taker_run_alone_takes_the_rows_its_source_kept_in_the_same_run(live: Path) -> None:
    """What an engine adapter does: each pipeline as a task of its own, with one run id."""
    (live / "p.yaml").write_text(pair("typed", "types_seen"))
    code, _ = run(live, "--pipeline", "source", "--only", "--run-id", "nightly-1")
    assert code == 0
    code, _ = run(live, "--pipeline", "taker", "--only", "--run-id", "nightly-1")
    assert code == 0
    assert json.loads((live / "out" / "types.json").read_text())["day"] == "date"
    code, events = run(live, "--pipeline", "taker", "--only", "--run-id", "nightly-2")
    assert code == 1
    (error,) = [e["error"] for e in events if e["kind"] == "pipeline_finished" and e["pipeline"] == "taker"]
    assert "pipeline 'source' handed over no rows in run nightly-2" in error
