"""The built-in steps on real files and SQLite databases, through the engine, as a user runs them."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.plugins.discovery import Plugins


def run_one(plugins: Plugins, write_config, extract: str, load: str, transform: str = "", **files: str):
    phases = f"      extract: {{steps: [{extract}]}}\n"
    if transform:
        phases += f"      transform: {{steps: [{transform}]}}\n"
    phases += f"      load: {{steps: [{load}]}}\n"
    config = write_config("pipelines:\n  p:\n    type: ETL\n    phases:\n" + phases, **files)
    return Engine(load_plan(config, plugins.registry), plugins).run_sync().pipelines["p"]


def test_csv_read_types_blank_lines_and_csv_write(plugins, write_config, tmp_path: Path) -> None:
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: csv.read, args: {path: in.csv, batch_size: 2, types: {n: int, price: float, ok: bool}}}",
        "{plugin: csv.write, args: {path: out/out.csv}}",
        **{"in.csv": "name,n,price,ok\nada,1,2.5,yes\n\ngrace,2,,no\nedsger,3,1e3,true\n"},
    )
    assert outcome.status == "succeeded", outcome.error
    assert (tmp_path / "out/out.csv").read_text() == "name,n,price,ok\nada,1,2.5,True\ngrace,2,,False\nedsger,3,1000.0,True\n"
    assert outcome.rows == 3
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out/out.csv").stat().st_mode & 0o777 == 0o666 & ~umask


def test_csv_read_refuses_a_ragged_row_naming_its_line(plugins, write_config) -> None:
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: csv.read, args: {path: in.csv}}",
        "{plugin: jsonl.write, args: {path: out.jsonl}}",
        **{"in.csv": "a,b\n1,2\n3,4,5\n"},
    )
    assert outcome.error == "step 'csv.read' failed: in.csv:3: 3 fields, but the header has 2; fix the row or the delimiter"


def test_csv_read_bad_cast_names_column_and_value(plugins, write_config) -> None:
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: csv.read, args: {path: in.csv, types: {n: int}}}",
        "{plugin: jsonl.write, args: {path: out.jsonl}}",
        **{"in.csv": "n\n1\nseven\n"},
    )
    assert outcome.error == "step 'csv.read' failed: in.csv: column 'n': cannot read 'seven' as int"


def test_jsonl_round_trip_and_invalid_line(plugins, write_config, tmp_path: Path) -> None:
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: jsonl.read, args: {path: in.jsonl}}",
        "{plugin: jsonl.write, args: {path: out.jsonl}}",
        **{"in.jsonl": '{"a": 1}\n\n{"a": "é"}\n'},
    )
    assert outcome.status == "succeeded"
    assert [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()] == [{"a": 1}, {"a": "é"}]
    broken = run_one(
        plugins,
        write_config,
        "{plugin: jsonl.read, args: {path: bad.jsonl}}",
        "{plugin: jsonl.write, args: {path: out2.jsonl}}",
        **{"bad.jsonl": '{"a": 1}\n{"a": \n'},
    )
    assert broken.error.startswith("step 'jsonl.read' failed: bad.jsonl:2: invalid JSON:")
    assert not (tmp_path / "out2.jsonl").exists()


def test_sqlite_read_and_missing_database(plugins, write_config, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "src.db") as db:
        db.execute("CREATE TABLE t (id INTEGER, name TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "c")])
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: sqlite.read, args: {database: src.db, query: 'SELECT * FROM t WHERE id >= ?', parameters: [2], batch_size: 1}}",
        "{plugin: sqlite.write, args: {database: dst.db, table: copy}}",
    )
    assert outcome.status == "succeeded", outcome.error
    assert sqlite3.connect(tmp_path / "dst.db").execute("SELECT * FROM copy").fetchall() == [(2, "b"), (3, "c")]
    missing = run_one(
        plugins,
        write_config,
        "{plugin: sqlite.read, args: {database: nowhere.db, query: 'SELECT 1'}}",
        "{plugin: jsonl.write, args: {path: out.jsonl}}",
    )
    assert missing.error == (
        f"step 'sqlite.read' failed: database not found: {tmp_path / 'nowhere.db'} (paths are relative to the pipeline file)"
    )
    assert not (tmp_path / "nowhere.db").exists()


def test_sqlite_execute_rolls_back_every_statement_on_error(plugins, write_config, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "w.db") as db:
        db.execute("CREATE TABLE t (n INTEGER)")
        db.execute("INSERT INTO t VALUES (1)")
    config = write_config(
        """
        pipelines:
          p:
            type: ELT
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "rows:none"}}]}
              load: {steps: [{plugin: sqlite.write, args: {database: w.db, table: t}}]}
              transform_at_load:
                steps:
                  - plugin: sqlite.execute
                    args: {database: w.db, sql: "DELETE FROM t; SELECT * FROM no_such_table;"}
        """,
        **{"rows.py": "def none():\n    return []\n"},
    )
    outcome = Engine(load_plan(config, plugins.registry), plugins).run_sync().pipelines["p"]
    assert outcome.error == "step 'sqlite.execute' failed: SQL failed: no such table: no_such_table"
    assert sqlite3.connect(tmp_path / "w.db").execute("SELECT n FROM t").fetchall() == [(1,)]


def test_sqlite_replace_failure_keeps_the_old_table(plugins, write_config, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "w.db") as db:
        db.execute("CREATE TABLE t (n INTEGER)")
        db.execute("INSERT INTO t VALUES (42)")
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: python.call, args: {callable: 'gen:rows'}}",
        "{plugin: sqlite.write, args: {database: w.db, table: t, mode: replace}}",
        **{"gen.py": "def rows():\n    yield [{'n': 1}]\n    yield [{'n': 2}]\n    raise OSError('disk gone')\n"},
    )
    assert outcome.error == "step 'python.call' failed: OSError: disk gone"
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("SELECT n FROM t").fetchall() == [(42,)]
    assert db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("t",)]


def test_python_call_reports_a_missing_module_and_where_it_looked(plugins, write_config, tmp_path: Path) -> None:
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: python.call, args: {callable: 'not_here:rows'}}",
        "{plugin: jsonl.write, args: {path: out.jsonl}}",
    )
    assert outcome.error == (
        "step 'python.call' failed: cannot import module 'not_here' (No module named 'not_here'); "
        f"it is looked up next to the pipeline file, in {tmp_path}"
    )


def test_python_call_refuses_a_module_named_like_the_standard_library(plugins, write_config, tmp_path: Path) -> None:
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: python.call, args: {callable: 'string:rows'}}",
        "{plugin: jsonl.write, args: {path: out.jsonl}}",
        **{"string.py": "def rows():\n    return []\n"},
    )
    assert outcome.error == (
        f"step 'python.call' failed: {tmp_path / 'string'} has the name of a standard library module ('string'), "
        "which it would hide from everything else in the run; rename it"
    )


def test_paths_outside_the_pipeline_directory_are_refused_unless_allowed(plugins, write_config, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "in.csv").write_text("a\n1\n")
    (tmp_path / "linked").symlink_to(outside)
    for path in (f"../{outside.name}/in.csv", str(outside / "in.csv"), "linked/in.csv"):
        refused = run_one(plugins, write_config, f"{{plugin: csv.read, args: {{path: '{path}'}}}}", "{plugin: jsonl.write, args: {path: out.jsonl}}")
        assert refused.error == (
            f"step 'csv.read' failed: {path} is outside the pipeline's directory {tmp_path}; "
            "list the directory under 'allowed_paths' in the config to allow it"
        )
    config = write_config(
        f"""
        allowed_paths: ['../{outside.name}']
        pipelines:
          p:
            type: ETL
            phases:
              extract: {{steps: [{{plugin: csv.read, args: {{path: '../{outside.name}/in.csv'}}}}]}}
              load: {{steps: [{{plugin: csv.write, args: {{path: '{outside / "out.csv"}'}}}}]}}
        """
    )
    assert Engine(load_plan(config, plugins.registry), plugins).run_sync().ok
    assert (outside / "out.csv").read_text() == "a\n1\n"


def test_csv_read_skips_a_utf8_byte_order_mark(plugins, write_config, tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts the file with a BOM: the first column is still ``id``."""
    (tmp_path / "in.csv").write_bytes("\ufeffid,name\n1,Zoë\n".encode())
    for encoding in ("utf-8", "UTF8"):
        outcome = run_one(
            plugins,
            write_config,
            f"{{plugin: csv.read, args: {{path: in.csv, encoding: {encoding}, types: {{id: int}}}}}}",
            "{plugin: jsonl.write, args: {path: out.jsonl}}",
        )
        assert outcome.status == "succeeded", outcome.error
        assert json.loads((tmp_path / "out.jsonl").read_text()) == {"id": 1, "name": "Zoë"}
    unknown = run_one(plugins, write_config, "{plugin: csv.read, args: {path: in.csv, encoding: utf-9}}", "{plugin: jsonl.write, args: {path: out.jsonl}}")
    assert unknown.error == "step 'csv.read' failed: unknown encoding 'utf-9'; use a Python codec name such as utf-8, latin-1 or cp1252"


def test_jsonl_read_skips_a_utf8_byte_order_mark(plugins, write_config, tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_bytes('\ufeff{"id": 1}\n'.encode())
    outcome = run_one(plugins, write_config, "{plugin: jsonl.read, args: {path: in.jsonl}}", "{plugin: csv.write, args: {path: out.csv}}")
    assert outcome.status == "succeeded", outcome.error
    assert (tmp_path / "out.csv").read_text() == "id\n1\n"


def test_sqlite_write_makes_a_missing_column_null_whatever_the_row_type(plugins, write_config, tmp_path: Path) -> None:
    """Rows missing a column of the table write NULL there, also when a row is a dict subclass
    that would answer a missing key with a default of its own."""
    steps = (
        "from collections import defaultdict\n"
        "def rows():\n"
        "    yield [{'n': 1, 'name': 'ada'}, {'n': 2}]\n"
        "    yield [defaultdict(str, {'n': 3}), {'name': 'grace', 'n': 4, 'extra': 'kept'}]\n"
        "def single():\n"
        "    yield [{'n': 5}, {'n': 6}]\n"
    )
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: python.call, args: {callable: 'gen:rows'}}",
        "{plugin: sqlite.write, args: {database: w.db, table: t}}",
        **{"gen.py": steps},
    )
    assert outcome.status == "succeeded", outcome.error
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("SELECT n, name FROM t ORDER BY n").fetchall() == [(1, "ada"), (2, None), (3, None), (4, "grace")]
    single = run_one(
        plugins,
        write_config,
        "{plugin: python.call, args: {callable: 'gen:single'}}",
        "{plugin: sqlite.write, args: {database: w.db, table: one}}",
        **{"gen.py": steps},
    )
    assert single.status == "succeeded", single.error
    assert db.execute("SELECT n FROM one ORDER BY n").fetchall() == [(5,), (6,)]


def test_sqlite_write_commits_batches_together_and_a_waiting_batch_within_a_second(plugins, write_config, tmp_path: Path) -> None:
    """Batches share a transaction (one commit, one ledger timestamp) until 20,000 rows or until
    the first of them has waited a quarter of a second when another arrives; every batch keeps its ledger row."""
    steps = (
        "import time\n"
        "def rows():\n"
        "    yield [{'n': 1}]\n"
        "    time.sleep(0.4)\n"
        "    yield [{'n': 2}]\n"
        "    yield [{'n': 3}]\n"
        "    yield [{'n': 4}]\n"
        "def many():\n"
        "    for start in range(0, 30_000, 5_000):\n"
        "        yield [{'n': i} for i in range(start, start + 5_000)]\n"
    )
    outcome = run_one(
        plugins,
        write_config,
        "{plugin: python.call, args: {callable: 'gen:rows'}}",
        "{plugin: sqlite.write, args: {database: w.db, table: t}}",
        **{"gen.py": steps},
    )
    assert outcome.status == "succeeded", outcome.error
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (2,), (3,), (4,)]
    ledger = db.execute("SELECT batch, rows, committed FROM _orchestrator_loads ORDER BY batch").fetchall()
    assert [(batch, rows) for batch, rows, _ in ledger] == [(0, 1), (1, 1), (2, 1), (3, 1)]
    stamps = [committed for _, _, committed in ledger]
    assert stamps[0] == stamps[1] != stamps[2]  # batch 0 waited 0.4 s: committed when batch 1 came

    big = run_one(
        plugins,
        write_config,
        "{plugin: python.call, args: {callable: 'gen:many'}}",
        "{plugin: sqlite.write, args: {database: w.db, table: big}}",
        **{"gen.py": steps},
    )
    assert big.status == "succeeded", big.error
    assert db.execute("SELECT count(*) FROM big").fetchone() == (30_000,)
    groups = db.execute(
        "SELECT count(*) FROM _orchestrator_loads WHERE rows = 5000 GROUP BY committed ORDER BY min(batch)"
    ).fetchall()
    sizes = [size for (size,) in groups]
    # never over 20,000 rows a transaction, and fewer transactions than batches (a batch arriving
    # more than 0.25 s after the first of its group, on a very busy machine, may start another)
    assert sum(sizes) == 6 and max(sizes) <= 4 and len(sizes) < 6
