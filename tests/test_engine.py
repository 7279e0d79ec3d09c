"""The phase contract and the DAG scheduler, run in-process on real files and SQLite."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from orchestrator.config.plan import load_plan
from orchestrator.engine import STREAM_BUFFER, Engine
from orchestrator.events import Event
from orchestrator.plugins.discovery import Plugins

STEPS = '''
import threading, time
import anyio

LOG = []

def rows(n=3):
    return [{"n": i} for i in range(n)]

def double(rows):
    return [{**r, "n": r["n"] * 2} for r in rows]

def thread_name(rows):
    return [{**r, "thread": threading.current_thread().name} for r in rows]

async def async_rows(n=2):
    await anyio.sleep(0)
    return [{"n": i} for i in range(n)]

async def async_plus_one(rows):
    return [{**r, "n": r["n"] + 1} for r in rows]
'''


def run(plugins: Plugins, config: Path, selected=None, events=None, **params):
    plan = load_plan(config, plugins.registry, params={k: str(v) for k, v in params.items()})
    sink = events.append if events is not None else (lambda e: None)
    return Engine(plan, plugins, sink).run_sync(selected)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_etl_with_sync_and_async_steps_in_every_phase(plugins, write_config, tmp_path) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETLT
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "steps:async_rows", kwargs: {n: 3}}}]}
              transform:
                steps:
                  - {id: a, plugin: python.call, args: {callable: "steps:double"}}
                  - {id: b, plugin: python.call, args: {callable: "steps:async_plus_one"}}
              load:
                steps:
                  - {plugin: sqlite.write, args: {database: out.db, table: t}}
              transform_at_load:
                steps:
                  - {plugin: sqlite.execute, args: {database: out.db, sql: "UPDATE t SET n = n * 10"}}
        """,
        **{"steps.py": STEPS},
    )
    result = run(plugins, config)
    assert result.ok, result.pipelines
    values = [n for (n,) in sqlite3.connect(tmp_path / "out.db").execute("SELECT n FROM t ORDER BY n")]
    assert values == [10, 30, 50]
    steps = {s.step: s for s in result.pipelines["p"].steps}
    assert steps["sqlite.execute"].rows == 3
    assert steps["sqlite.write"].rows == 3


def test_sync_transforms_run_off_the_event_loop_thread(plugins, write_config, tmp_path) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
              transform: {steps: [{plugin: python.call, args: {callable: "steps:thread_name"}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **{"steps.py": STEPS},
    )
    assert run(plugins, config).ok
    names = {row["thread"] for row in read_jsonl(tmp_path / "out.jsonl")}
    assert names and threading.main_thread().name not in names


def test_several_extract_steps_give_transforms_a_mapping(plugins, write_config, tmp_path) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract:
                steps:
                  - {id: left, plugin: python.call, args: {callable: "steps:rows", kwargs: {n: 2}}}
                  - {id: right, plugin: csv.read, args: {path: in.csv}}
              transform: {steps: [{plugin: python.call, args: {callable: "steps:merge"}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **{
            "steps.py": STEPS + "\ndef merge(data):\n    return [{'keys': sorted(data), 'sizes': [len(data['left']), len(data['right'])]}]\n",
            "in.csv": "a\n1\n2\n3\n",
        },
    )
    assert run(plugins, config).ok
    assert read_jsonl(tmp_path / "out.jsonl") == [{"keys": ["left", "right"], "sizes": [2, 3]}]


STREAM = '''
import time
STATE = {"produced": 0, "consumed": 0, "max_ahead": 0, "ids": {}}

def produce(batches, size):
    for i in range(batches):
        STATE["produced"] += 1
        STATE["max_ahead"] = max(STATE["max_ahead"], STATE["produced"] - STATE["consumed"])
        yield [{"i": i * size + j} for j in range(size)]

def slow_sink(batch, name):
    time.sleep(0.001)
    if name == "a":
        STATE["consumed"] += 1
    STATE["ids"].setdefault(name, []).append(id(batch))
    return len(batch)
'''


def test_streaming_applies_back_pressure_and_shares_batches(plugins, write_config, tmp_path) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "stream:produce", kwargs: {batches: 200, size: 10}}}]}
              load:
                steps:
                  - {id: a, plugin: python.call, args: {callable: "stream:slow_sink", kwargs: {name: a}}}
                  - {id: b, plugin: python.call, args: {callable: "stream:slow_sink", kwargs: {name: b}}}
        """,
        **{"stream.py": STREAM},
    )
    result = run(plugins, config)
    assert result.ok, result.pipelines
    import stream  # the module python.call imported from the pipeline's directory

    state = stream.STATE
    assert state["produced"] == 200
    # the producer never runs more than the buffers (plus the batches in hand) ahead of a load
    assert state["max_ahead"] <= STREAM_BUFFER + 3
    # both loads saw the very same batch objects: fan-out does not copy
    assert state["ids"]["a"] == state["ids"]["b"]
    rows = {s.step: s.rows for s in result.pipelines["p"].steps}
    assert rows == {"python.call": 2000, "a": 2000, "b": 2000}


BROKEN_SOURCE = """
import sqlite3, time
from pathlib import Path

def produce(context):
    yield [{'x': 1}, {'x': 2}]
    # fail only once the first batch is committed, so what "already loaded" means is not a race
    database = context.path('out.db')
    for _ in range(500):
        try:
            if sqlite3.connect(database).execute('SELECT COUNT(*) FROM t').fetchone() == (2,):
                break
        except sqlite3.Error:
            pass
        time.sleep(0.01)
    raise ValueError('source went away')
"""


def test_a_failing_stream_keeps_committed_batches_and_fails_the_loads(plugins, write_config, tmp_path) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "broken:produce"}}]}
              load:
                steps:
                  - {plugin: sqlite.write, args: {database: out.db, table: t}}
                  - {plugin: csv.write, args: {path: out.csv}}
        """,
        **{
            "broken.py": BROKEN_SOURCE,
            "out.csv": "previous\nfile\n",
        },
    )
    result = run(plugins, config)
    outcome = result.pipelines["p"]
    assert outcome.status == "failed"
    assert outcome.error == "step 'python.call' failed: ValueError: source went away"
    # sqlite.write committed the first batch before the failure; it stays
    assert sqlite3.connect(tmp_path / "out.db").execute("SELECT COUNT(*) FROM t").fetchone() == (2,)
    # csv.write writes atomically: the previous file is intact
    assert (tmp_path / "out.csv").read_text() == "previous\nfile\n"
    loads = {s.step: s for s in outcome.steps if s.phase == "load"}
    assert all(s.status == "failed" for s in loads.values())
    assert "earlier step" in loads["csv.write"].error


DAG = '''
import time, anyio
TIMES = {}

async def mark(name, delay=0.0, until=None):
    TIMES[name + ":start"] = time.perf_counter()
    await anyio.sleep(delay)
    with anyio.move_on_after(60):  # ends once pipeline 'until' started: an engine that made it wait for this one ends it late
        while until is not None and until + ":start" not in TIMES:
            await anyio.sleep(0.01)
    TIMES[name + ":end"] = time.perf_counter()
    return [{"name": name}]

def block(until):
    deadline = time.monotonic() + 60
    while until + ":end" not in TIMES and time.monotonic() < deadline:  # blocks its thread until 'until' ended
        time.sleep(0.01)
    TIMES["block:end"] = time.perf_counter()
    return [{"blocked": until}]

def fail():
    raise RuntimeError("nope")

def sink(batch):
    return None
'''


def _pipeline(name: str, callable_: str, kwargs: dict, depends_on=()) -> str:
    deps = f"depends_on: {list(depends_on)}" if depends_on else ""
    return f"""
  {name}:
    type: ETL
    {deps}
    phases:
      extract: {{steps: [{{plugin: python.call, args: {{callable: "dag:{callable_}", kwargs: {json.dumps(kwargs)}}}}}]}}
      load: {{steps: [{{plugin: python.call, args: {{callable: "dag:sink"}}}}]}}
"""


def test_pipelines_run_as_a_dag_not_in_waves(plugins, write_config) -> None:
    config = write_config(
        "pipelines:"
        + _pipeline("slow", "mark", {"name": "slow", "until": "after_fast"})
        + _pipeline("fast", "mark", {"name": "fast"})
        + _pipeline("after_fast", "mark", {"name": "after_fast"}, ["fast"])
        + _pipeline("after_slow", "mark", {"name": "after_slow"}, ["slow"]),
        **{"dag.py": DAG},
    )
    result = run(plugins, config)
    assert result.ok
    import dag

    times = dag.TIMES
    assert times["after_fast:start"] < times["slow:end"]  # did not wait for the unrelated slow one
    assert times["after_slow:start"] >= times["slow:end"]


def test_failure_skips_dependents_and_spares_unrelated_pipelines(plugins, write_config) -> None:
    config = write_config(
        "pipelines:"
        + _pipeline("bad", "fail", {})
        + _pipeline("child", "mark", {"name": "child"}, ["bad"])
        + _pipeline("grandchild", "mark", {"name": "grandchild"}, ["child"])
        + _pipeline("unrelated", "mark", {"name": "unrelated", "delay": 0.3}),
        **{"dag.py": DAG},
    )
    events: list[Event] = []
    result = run(plugins, config, events=events)
    statuses = {name: p.status for name, p in result.pipelines.items()}
    assert statuses == {"bad": "failed", "child": "skipped", "grandchild": "skipped", "unrelated": "succeeded"}
    assert result.pipelines["bad"].error == "step 'python.call' failed: RuntimeError: nope"
    assert "depends on 'bad'" in result.pipelines["child"].error
    assert not result.ok
    assert [e.pipeline for e in events if e.kind == "pipeline_skipped"] == ["child", "grandchild"]


def test_a_blocking_sync_step_does_not_stall_other_pipelines(plugins, write_config) -> None:
    config = write_config(
        "pipelines:" + _pipeline("blocking", "block", {"until": "quick"}) + _pipeline("quick", "mark", {"name": "quick", "delay": 0.05}),
        **{"dag.py": DAG},
    )
    result = run(plugins, config)
    assert result.ok
    import dag

    # the async pipeline finished while the sync one was still blocked in its worker thread
    assert dag.TIMES["quick:end"] < dag.TIMES["block:end"]


def test_extract_concurrency_is_bounded(plugins, write_config) -> None:
    steps = "\n".join(
        f"                  - {{id: s{i}, plugin: python.call, args: {{callable: 'conc:step'}}}}" for i in range(8)
    )
    config = write_config(
        f"""
        pipelines:
          p:
            type: ETL
            concurrency: 3
            phases:
              extract:
                steps:
{steps}
              load: {{steps: [{{plugin: python.call, args: {{callable: "conc:sink"}}}}]}}
        """,
        **{
            "conc.py": "import anyio\nNOW = [0]\nPEAK = [0]\n"
            "async def step():\n    NOW[0] += 1\n    PEAK[0] = max(PEAK[0], NOW[0])\n    await anyio.sleep(0.02)\n    NOW[0] -= 1\n    return [1]\n"
            "def sink(batch):\n    return 0\n"
        },
    )
    assert run(plugins, config).ok
    import conc

    assert conc.PEAK[0] == 3


def test_selection_runs_the_pipeline_and_its_dependencies_only(plugins, write_config) -> None:
    config = write_config(
        "pipelines:"
        + _pipeline("base", "mark", {"name": "base"})
        + _pipeline("mid", "mark", {"name": "mid"}, ["base"])
        + _pipeline("top", "mark", {"name": "top"}, ["mid"])
        + _pipeline("other", "mark", {"name": "other"}),
        **{"dag.py": DAG},
    )
    result = run(plugins, config, selected=["mid"])
    assert list(result.pipelines) == ["base", "mid"]


def test_step_context_carries_run_pipeline_step_and_params(plugins, write_config, tmp_path) -> None:
    config = write_config(
        """
        params: {region: eu}
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{id: src, plugin: python.call, args: {callable: "ctx:describe"}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **{
            "ctx.py": "def describe(context):\n"
            "    context.logger.info('hello')\n"
            "    return [{'run': context.run_id, 'pipeline': context.pipeline, 'step': context.step_id,\n"
            "             'phase': context.phase, 'region': context.params['region'], 'logger': context.logger.name,\n"
            "             'data': str(context.path('data.csv'))}]\n"
        },
    )
    result = run(plugins, config, region="us")
    assert result.ok
    (row,) = read_jsonl(tmp_path / "out.jsonl")
    assert row == {
        "run": result.run_id,
        "pipeline": "p",
        "step": "src",
        "phase": "extract",
        "region": "us",
        "logger": "orchestrator.run.p.src",
        "data": str(tmp_path / "data.csv"),
    }


def test_a_load_returning_the_wrong_type_is_reported(plugins, write_config) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "odd:rows"}}]}
              load: {steps: [{id: odd_load, plugin: odd.load}]}
        """,
        **{"odd.py": "def rows():\n    return [1]\n"},
    )
    from orchestrator.plugins.registry import Origin

    class OddLoader:
        from orchestrator import hookimpl

        @hookimpl
        def register_loaders(self, register):
            register("odd.load", lambda ctx, batches: "done")

    plugins.add(OddLoader(), Origin("odd", "tests", "0"))
    result = run(plugins, config)
    assert result.pipelines["p"].error == (
        "step 'odd_load' (odd.load) failed: returned str; a load step returns the number of rows, "
        "a mapping with a 'rows' key, or None"
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("append", [(0,), (1,), (9,), (0,), (1,)]), ("replace", [(0,), (1,)])],
)
def test_sqlite_write_modes(plugins, write_config, tmp_path, mode, expected) -> None:
    db = tmp_path / "out.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (n INTEGER)")
        connection.executemany("INSERT INTO t VALUES (?)", [(0,), (1,), (9,)])
    config = write_config(
        f"""
        pipelines:
          p:
            type: ETL
            phases:
              extract: {{steps: [{{plugin: python.call, args: {{callable: "steps:rows", kwargs: {{n: 2}}}}}}]}}
              load: {{steps: [{{plugin: sqlite.write, args: {{database: out.db, table: t, mode: {mode}}}}}]}}
        """,
        **{"steps.py": STEPS},
    )
    assert run(plugins, config).ok
    assert sqlite3.connect(db).execute("SELECT n FROM t ORDER BY rowid").fetchall() == expected


def test_sqlite_write_create_refuses_an_existing_table(plugins, write_config, tmp_path) -> None:
    sqlite3.connect(tmp_path / "out.db").execute("CREATE TABLE t (n INTEGER)")
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
              load: {steps: [{plugin: sqlite.write, args: {database: out.db, table: t, mode: create}}]}
        """,
        **{"steps.py": STEPS},
    )
    result = run(plugins, config)
    assert result.pipelines["p"].error == (
        "step 'sqlite.write' failed: table 't' already exists (mode: create); use mode append or replace"
    )


PROGRESSING = '''
import time

def slow_batches():
    for n in range(24):  # 24 batches of 10 rows over about 1.2 s
        time.sleep(0.05)
        yield [{"n": n * 10 + i} for i in range(10)]

def same(rows):
    return rows
'''


def test_a_streaming_step_reports_its_rows_so_far_while_it_runs(plugins, write_config, tmp_path) -> None:
    from orchestrator.events import Kind

    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{id: src, plugin: python.call, args: {callable: "slow:slow_batches"}}]}
              transform: {steps: [{id: tx, plugin: python.call, args: {callable: "slow:same"}}]}
              load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **{"slow.py": PROGRESSING},
    )
    events: list[Event] = []
    assert run(plugins, config, events=events).ok
    progress = [e for e in events if e.kind is Kind.STEP_PROGRESS]
    extract = [e.rows for e in progress if e.step == "src"]
    # about every 0.5 s, not once per batch: rows so far grow, and stay short of the whole
    assert 1 <= len(extract) <= 3, extract
    assert extract == sorted(extract) and 0 < extract[0] and extract[-1] < 240
    assert {e.step for e in progress} == {"src", "tx", "out"}
    assert all(e.rows_in is not None for e in progress if e.step == "out")
    finished = next(e for e in events if e.kind is Kind.STEP_FINISHED and e.step == "src")
    assert finished.rows == 240 and all(e.time <= finished.time for e in progress if e.step == "src")
