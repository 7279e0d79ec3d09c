"""Row-level failures (``on_error: fail | skip | dead_letter``) on real ``orchestrator run``
processes: SQLite targets whose constraints refuse some rows, a python.call transform that raises
on some rows, the dead-letter files, ``orchestrator runs show``, and replaying the dead letters."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from helpers import cli
from orchestrator.config.plan import load_plan
from orchestrator.plugins.discovery import Plugins

ROWS = 60
#: ids whose amount the transform cannot parse, that the target's NOT NULL refuses, and its CHECK
UNPARSABLE = [i for i in range(ROWS) if i % 10 == 3]
MISSING = [i for i in range(ROWS) if i % 10 == 5]
NEGATIVE = [i for i in range(ROWS) if i % 10 == 7]

CONFIG = """
executor: EXECUTOR
pipelines:
  orders:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: csv.read, args: {path: orders.csv, batch_size: 10}}]}
      transform: {steps: [{id: parse, plugin: python.call, args: {callable: "steps:parse"}, on_error: ON_ERROR}]}
      load: {steps: [{id: to_db, plugin: sqlite.write, args: {database: out.db, table: orders}, on_error: ON_ERROR}]}
"""

PARSE = """
def parse(rows):
    return [{"id": int(r["id"]), "amount": None if r["amount"] == "" else int(r["amount"])} for r in rows]
"""

PARSE_FIXED = """
def parse(rows):
    return [{"id": int(r["id"]), "amount": 0 if r["amount"] in ("", "oops") else int(r["amount"])} for r in rows]
"""


def _amount(i: int) -> str:
    return "oops" if i in UNPARSABLE else "" if i in MISSING else "-1" if i in NEGATIVE else str(i)


def _project(write_config, on_error: str, executor: str = "local") -> Path:
    config = write_config(
        CONFIG.replace("ON_ERROR", on_error).replace("EXECUTOR", executor),
        **{"steps.py": PARSE, "orders.csv": "id,amount\n" + "".join(f"{i},{_amount(i)}\n" for i in range(ROWS))},
    )
    with sqlite3.connect(config.parent / "out.db") as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL CHECK (amount >= 0))")
    return config


def _ids(config: Path) -> list[int]:
    with sqlite3.connect(config.parent / "out.db") as db:
        return [row[0] for row in db.execute("SELECT id FROM orders ORDER BY id")]


def _events(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _letters(config: Path, run_id: str) -> list[dict]:
    path = config.parent / ".orchestrator" / "dead-letters" / run_id / "orders.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _show(config: Path, run_id: str) -> dict:
    shown = cli("runs", "show", run_id, "--config", str(config), "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _drop_constraints(config: Path) -> None:
    with sqlite3.connect(config.parent / "out.db") as db:
        db.executescript(
            "CREATE TABLE loose (id INTEGER, amount INTEGER); INSERT INTO loose SELECT * FROM orders; "
            "DROP TABLE orders; ALTER TABLE loose RENAME TO orders;"
        )


def test_on_error_fail_fails_the_step_as_before(write_config) -> None:
    config = _project(write_config, "fail")
    (config.parent / "steps.py").write_text(PARSE_FIXED.replace("0 if", "None if"))  # only the target refuses rows
    result = cli("run", str(config))
    assert result.returncode == 1
    assert "step 'to_db' (sqlite.write) failed: writing table 'orders' failed: NOT NULL constraint failed: orders.amount" in result.stdout
    assert _ids(config) == []  # the first batch already had a bad row: nothing of it was committed
    assert not (config.parent / ".orchestrator" / "dead-letters").exists()


def test_a_transform_that_raises_on_a_row_fails_unless_on_error_says_otherwise(write_config) -> None:
    config = _project(write_config, "fail")
    result = cli("run", str(config))
    assert result.returncode == 1
    assert "step 'parse' (python.call) failed: ValueError: invalid literal for int() with base 10: 'oops'" in result.stdout


def test_on_error_skip_drops_the_refused_rows_and_counts_them(write_config) -> None:
    config = _project(write_config, "skip")
    result = cli("run", str(config), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _ids(config) == [i for i in range(ROWS) if i not in UNPARSABLE + MISSING + NEGATIVE]
    finished = {e["step"]: e for e in _events(result) if e["kind"] == "step_finished"}
    assert finished["parse"]["rejected"] == len(UNPARSABLE) and finished["parse"]["rows"] == ROWS - len(UNPARSABLE)
    assert finished["to_db"]["rejected"] == len(MISSING + NEGATIVE)
    assert "rejected" not in finished["src"]
    (summary,) = [e for e in _events(result) if e["kind"] == "summary"]
    assert summary["pipelines"][0]["dead_letters"] is None, "skipped rows are not kept"
    assert not (config.parent / ".orchestrator" / "dead-letters").exists()
    steps = {s["step"]: s["rejected"] for s in _show(config, summary["run_id"])["steps"]}
    assert steps == {"src": None, "parse": len(UNPARSABLE), "to_db": len(MISSING + NEGATIVE)}


@pytest.mark.parametrize("executor", ["local", "process"])
def test_dead_letters_are_kept_shown_and_replayed_once_the_cause_is_fixed(write_config, executor: str) -> None:
    config = _project(write_config, "dead_letter", executor)
    result = cli("run", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = [i for i in range(ROWS) if i not in UNPARSABLE + MISSING + NEGATIVE]
    assert _ids(config) == loaded
    run_id = result.stdout.strip().splitlines()[-1].split()[1]
    path = config.parent / ".orchestrator" / "dead-letters" / run_id / "orders.jsonl"
    assert f"orders: 18 rows rejected (parse 6, to_db 12); dead letters in {path}" in result.stdout

    letters = _letters(config, run_id)
    parsed = [r for r in letters if r["step"] == "parse"]
    assert [r["row"] for r in parsed] == [{"id": str(i), "amount": "oops"} for i in UNPARSABLE]
    assert [r["position"] for r in parsed] == UNPARSABLE, "the position in the step's input, across batches"
    assert {(r["run_id"], r["pipeline"], r["phase"], r["plugin"]) for r in parsed} == {(run_id, "orders", "transform", "python.call")}
    assert all(r["error"] == "ValueError: invalid literal for int() with base 10: 'oops'" for r in parsed)
    refused = {r["row"]["id"]: r for r in letters if r["step"] == "to_db"}
    assert sorted(refused) == sorted(MISSING + NEGATIVE)
    assert all(refused[i]["row"] == {"id": i, "amount": None} for i in MISSING)
    assert all(refused[i]["error"] == "IntegrityError: NOT NULL constraint failed: orders.amount" for i in MISSING)
    assert all(refused[i]["error"].startswith("IntegrityError: CHECK constraint failed") for i in NEGATIVE)
    assert {(r["phase"], r["plugin"]) for r in refused.values()} == {("load", "sqlite.write")}
    assert all(isinstance(r["time"], float) for r in letters)

    shown = _show(config, run_id)
    assert {(s["step"], s["rejected"]) for s in shown["steps"]} == {("src", None), ("parse", 6), ("to_db", 12)}
    assert shown["dead_letters"] == [
        {"pipeline": "orders", "phase": "transform", "step": "parse", "rows": 6, "file": str(path)},
        {"pipeline": "orders", "phase": "load", "step": "to_db", "rows": 12, "file": str(path)},
    ]
    text = cli("runs", "show", run_id, "--config", str(config)).stdout
    assert f"--replay-dead-letters {run_id}" in text
    assert any(line.split()[:4] == ["orders", "transform", "parse", "6"] and line.endswith(str(path)) for line in text.splitlines())
    assert any(line.split()[:4] == ["orders", "load", "to_db", "12"] for line in text.splitlines())

    (config.parent / "steps.py").write_text(PARSE_FIXED)
    _drop_constraints(config)
    replayed = cli("run", str(config), "--replay-dead-letters", run_id, "--json")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    events = _events(replayed)
    new_run = events[0]["run_id"]
    assert new_run != run_id
    ran = [(e["step"], e["rows"]) for e in events if e["kind"] == "step_finished"]
    # the transform's rows go through it and on into the load, together with the load's own rows
    assert ran == [("parse", 6), ("to_db", 18)]
    assert _ids(config) == list(range(ROWS)), "every dead-lettered row loaded, once"
    assert not (config.parent / ".orchestrator" / "dead-letters" / new_run / "orders.jsonl").exists()
    assert [r["run_id"] for r in json.loads(cli("runs", "--config", str(config), "--json").stdout)] == [new_run, run_id]

    again = cli("run", str(config), "--replay-dead-letters", run_id, "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _ids(config) == list(range(ROWS)), "a second replay of the run skips what the first committed"
    assert not any("rejected" in e for e in _events(again) if e["kind"] == "step_finished")


def test_rows_that_fail_again_are_dead_lettered_again_in_the_new_run(write_config) -> None:
    config = _project(write_config, "dead_letter")
    first = cli("run", str(config))
    run_id = first.stdout.strip().splitlines()[-1].split()[1]
    before = _letters(config, run_id)

    (config.parent / "steps.py").write_text(PARSE_FIXED)  # the transform is fixed, the target is not
    replayed = cli("run", str(config), "--replay-dead-letters", run_id, "--json")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    new_run = _events(replayed)[0]["run_id"]
    assert _ids(config) == sorted([i for i in range(ROWS) if i not in MISSING + NEGATIVE])
    again = _letters(config, new_run)
    assert sorted(r["row"]["id"] for r in again) == sorted(MISSING + NEGATIVE)
    assert {(r["run_id"], r["step"]) for r in again} == {(new_run, "to_db")}
    assert _letters(config, run_id) == before, "the replayed run's dead letters stay as they were"

    _drop_constraints(config)
    assert cli("run", str(config), "--replay-dead-letters", new_run).returncode == 0
    assert _ids(config) == list(range(ROWS))


def test_replaying_is_refused_when_there_is_nothing_to_replay_or_the_step_is_gone(write_config) -> None:
    config = _project(write_config, "dead_letter")
    run_id = cli("run", str(config)).stdout.strip().splitlines()[-1].split()[1]

    clean = cli("run", str(config), "--pipeline", "orders", "--replay-dead-letters", "20260101T000000-000000")
    assert clean.returncode == 2
    assert "error: --replay-dead-letters 20260101T000000-000000: run 20260101T000000-000000 has no dead letters" in clean.stderr

    both = cli("run", str(config), "--replay-dead-letters", run_id, "--resume")
    assert both.returncode == 2 and "use one of them" in both.stderr

    config.write_text(config.read_text().replace("id: to_db", "id: warehouse"))
    gone = cli("run", str(config), "--replay-dead-letters", run_id)
    assert gone.returncode == 2
    assert (
        f"error: --replay-dead-letters {run_id}: step 'to_db' (load) of pipeline 'orders' rejected rows in run {run_id} "
        f"but is no longer in the load phase of {config.name}"
    ) in gone.stderr
    assert "Traceback" not in gone.stderr
    assert json.loads(cli("runs", "--config", str(config), "--json").stdout)[0]["run_id"] == run_id, "nothing ran"


def test_a_failed_replay_is_replayed_again_rather_than_resumed(write_config) -> None:
    config = _project(write_config, "dead_letter")
    run_id = cli("run", str(config)).stdout.strip().splitlines()[-1].split()[1]
    (config.parent / "steps.py").write_text(PARSE_FIXED)
    _drop_constraints(config)
    (config.parent / "out.db").rename(config.parent / "kept.db")
    (config.parent / "out.db").mkdir()  # the target cannot be opened: the replay fails
    failed = cli("run", str(config), "--replay-dead-letters", run_id, "--json")
    assert failed.returncode == 1
    replay_run = _events(failed)[0]["run_id"]

    refused = cli("run", str(config), "--resume", replay_run)
    assert refused.returncode == 2
    assert f"that run replayed the dead letters of run {run_id}" in refused.stderr
    assert f"--replay-dead-letters {run_id}" in refused.stderr

    (config.parent / "out.db").rmdir()
    (config.parent / "kept.db").rename(config.parent / "out.db")
    assert cli("run", str(config), "--replay-dead-letters", run_id).returncode == 0
    assert _ids(config) == list(range(ROWS))


def test_a_retried_pipeline_writes_each_dead_letter_once_and_loads_each_row_once(write_config) -> None:
    config = _project(write_config, "dead_letter")
    config.write_text(
        """
pipelines:
  orders:
    type: ETL
    retry: {attempts: 2, initial: 10ms}
    phases:
      extract: {steps: [{id: src, plugin: csv.read, args: {path: orders.csv, batch_size: 10}}]}
      transform: {steps: [{id: parse, plugin: python.call, args: {callable: "steps:parse"}, on_error: dead_letter}]}
      load:
        steps:
          - {id: to_db, plugin: sqlite.write, args: {database: out.db, table: orders}, on_error: dead_letter}
          - {id: flaky, plugin: python.call, args: {callable: "steps:fails_once"}}
"""
    )
    (config.parent / "steps.py").write_text(
        PARSE + "\nfrom pathlib import Path\n\n"
        "def fails_once(batch):\n"
        "    marker = Path(__file__).parent / 'failed.once'\n"
        "    if batch and batch[-1]['id'] == 59 and not marker.exists():\n"
        "        marker.touch()\n"
        "        raise ConnectionError('the second target hung up')\n"
    )
    result = cli("run", str(config), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e["kind"] for e in _events(result)].count("pipeline_retry") == 1
    run_id = _events(result)[0]["run_id"]
    letters = _letters(config, run_id)
    assert sorted((r["step"], r["position"]) for r in letters) == sorted({(r["step"], r["position"]) for r in letters})
    assert len(letters) == 18, "the retry rejected the same rows again; each is written once"
    assert _ids(config) == [i for i in range(ROWS) if i not in UNPARSABLE + MISSING + NEGATIVE]
    with sqlite3.connect(config.parent / "out.db") as db:  # the retried load's ledger skipped what it committed
        assert db.execute("SELECT COUNT(*), SUM(rows) FROM _orchestrator_loads").fetchone() == (6, 42)


REJECTING = """
def keep_positive(rows, context):
    kept = []
    for number, row in enumerate(rows):
        if int(row["amount"]) < 0:
            context.reject(row, f"negative amount {row['amount']}", position=number)
        else:
            kept.append(row)
    return kept
"""


@pytest.mark.parametrize(("on_error", "code"), [("fail", 1), ("skip", 0), ("dead_letter", 0)])
def test_a_step_rejects_rows_through_its_context(write_config, on_error: str, code: int) -> None:
    config = write_config(
        f"""
        pipelines:
          p:
            type: ETL
            phases:
              extract: {{steps: [{{plugin: csv.read, args: {{path: in.csv}}}}]}}
              transform: {{steps: [{{id: check, plugin: python.call, args: {{callable: "rules:keep_positive"}}, on_error: {on_error}}}]}}
              load: {{steps: [{{plugin: jsonl.write, args: {{path: out.jsonl}}}}]}}
        """,
        **{"rules.py": REJECTING, "in.csv": "id,amount\n1,5\n2,-3\n3,7\n"},
    )
    result = cli("run", str(config), "--json")
    assert result.returncode == code, result.stdout + result.stderr
    letters = list((config.parent / ".orchestrator" / "dead-letters").glob("*/p.jsonl"))
    if on_error == "fail":
        assert "step 'check' (python.call) failed: row 1 was rejected: negative amount -3" in result.stdout
        assert not letters
        return
    written = [json.loads(line)["id"] for line in (config.parent / "out.jsonl").read_text().splitlines()]
    assert written == ["1", "3"]
    (finished,) = [e for e in _events(result) if e["kind"] == "step_finished" and e["step"] == "check"]
    assert finished["rejected"] == 1
    if on_error == "skip":
        assert not letters
    else:
        (record,) = [json.loads(line) for line in letters[0].read_text().splitlines()]
        assert (record["row"], record["error"], record["position"]) == ({"id": "2", "amount": "-3"}, "negative amount -3", 1)


def test_on_error_under_defaults_applies_to_transform_and_load_steps_only(write_config, plugins: Plugins) -> None:
    config = write_config(
        """
        defaults: {on_error: skip}
        pipelines:
          p:
            type: ETLT
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: in.csv}}]}
              transform: {steps: [{plugin: python.call, args: {callable: "m:f"}}]}
              load:
                steps:
                  - {id: a, plugin: sqlite.write, args: {database: out.db, table: t}}
                  - {id: b, plugin: sqlite.write, args: {database: out.db, table: u}, on_error: dead_letter}
                  - {id: c, plugin: sqlite.write, args: {database: out.db, table: v}, on_error: fail}
              transform_at_load: {steps: [{plugin: sqlite.execute, args: {database: out.db, sql: "SELECT 1"}}]}
        """
    )
    spec = load_plan(config, plugins.registry).pipelines["p"]
    assert {step.id: step.on_error for steps in spec.phases.values() for step in steps} == {
        "csv.read": "fail", "python.call": "skip", "a": "skip", "b": "dead_letter", "c": "fail", "sqlite.execute": "fail",
    }


def test_a_history_from_before_rejected_rows_were_counted_gets_the_column(write_config) -> None:
    config = _project(write_config, "skip")
    state = config.parent / ".orchestrator" / "state.db"
    state.parent.mkdir()
    with sqlite3.connect(state) as db:  # the step_attempts table as the first release created it
        db.execute(
            "CREATE TABLE step_attempts (run_id TEXT NOT NULL, pipeline TEXT NOT NULL, phase TEXT NOT NULL, "
            "step TEXT NOT NULL, plugin TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL, "
            "started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION, elapsed DOUBLE PRECISION, rows INTEGER, "
            "error TEXT, PRIMARY KEY (run_id, pipeline, step, attempt))"
        )
    result = cli("run", str(config), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = _show(config, _events(result)[0]["run_id"])
    assert {s["step"]: s["rejected"] for s in shown["steps"]}["to_db"] == len(MISSING + NEGATIVE)
