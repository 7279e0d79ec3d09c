"""No load loses a column: a key the first rows did not have is added to the table (sqlite.write)
or refused naming it (csv.write, whose header cannot grow); and what csv.write writes for no rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from orchestrator.builtin import csv_files, sqlite_steps
from orchestrator.context import StepContext
from orchestrator.errors import StepError

#: the reported case: the second row brings a column, the third lacks the first one
ROWS = [{"a": 1}, {"a": 2, "b": "x"}, {"b": "y"}]


def _ctx(base: Path, plugin: str, load_id: str = "load-1") -> StepContext:
    return StepContext("run", "p", {}, base, "load", "out", plugin, load_id=load_id)


def _table(database: Path, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with sqlite3.connect(database) as db:
        cursor = db.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
        return [c[0] for c in cursor.description], cursor.fetchall()


@pytest.mark.parametrize("mode", ["create", "append", "replace"])
@pytest.mark.parametrize("split", [False, True], ids=["one batch", "a batch per row"])
def test_sqlite_write_adds_a_column_first_seen_in_a_later_row(tmp_path: Path, mode: str, split: bool) -> None:
    batches = [[row] for row in ROWS] if split else [ROWS]
    written = sqlite_steps.write(_ctx(tmp_path, "sqlite.write"), batches, "out.db", "t", mode=mode)
    assert written == 3
    assert _table(tmp_path / "out.db", "t") == (["a", "b"], [(1, None), (2, "x"), (None, "y")])


def test_sqlite_write_adds_columns_to_an_existing_table_and_types_them(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "out.db") as db:
        db.execute("CREATE TABLE t (a INTEGER, keep TEXT DEFAULT 'kept')")
    batches = [[{"a": 1}], [{"a": 2, "n": None}, {"a": 3, "n": 4.5, "B": b"\x00"}]]
    sqlite_steps.write(_ctx(tmp_path, "sqlite.write"), batches, "out.db", "t")
    columns, rows = _table(tmp_path / "out.db", "t")
    assert columns == ["a", "keep", "n", "B"]
    assert rows == [(1, "kept", None, None), (2, "kept", None, None), (3, "kept", 4.5, b"\x00")]
    with sqlite3.connect(tmp_path / "out.db") as db:
        types = {name: kind for _, name, kind, *_ in db.execute("PRAGMA table_info(t)")}
    assert types == {"a": "INTEGER", "keep": "TEXT", "n": "REAL", "B": "BLOB"}


def test_sqlite_write_resumed_after_a_column_was_added_keeps_every_value(tmp_path: Path) -> None:
    class Cut(Exception):
        pass

    def cut_after_two() -> Any:
        yield [{"a": 1}]
        yield [{"a": 2, "b": "x"}]
        raise Cut

    with pytest.raises(Cut):
        sqlite_steps.write(_ctx(tmp_path, "sqlite.write"), cut_after_two(), "out.db", "t")
    sqlite_steps.write(_ctx(tmp_path, "sqlite.write"), [[{"a": 1}], [{"a": 2, "b": "x"}], [{"b": "y"}]], "out.db", "t")
    assert _table(tmp_path / "out.db", "t") == (["a", "b"], [(1, None), (2, "x"), (None, "y")])


def test_csv_write_takes_its_header_from_every_key_of_the_first_batch(tmp_path: Path) -> None:
    assert csv_files.write(_ctx(tmp_path, "csv.write"), [ROWS], "out.csv") == 3
    assert (tmp_path / "out.csv").read_text() == "a,b\n1,\n2,x\n,y\n"


def test_csv_write_refuses_a_column_a_later_batch_brings(tmp_path: Path) -> None:
    (tmp_path / "out.csv").write_text("previous\n")
    with pytest.raises(StepError) as caught:
        csv_files.write(_ctx(tmp_path, "csv.write"), [[row] for row in ROWS], "out.csv")
    assert str(caught.value) == (
        "row 2 has column 'b', which the CSV header (from the first batch) lacks, and a header cannot grow "
        "once written; list every column in args.columns, or drop 'b' in a transform"
    )
    assert (tmp_path / "out.csv").read_text() == "previous\n"  # the old file stays


def test_csv_write_with_columns_writes_them_in_order_and_refuses_others(tmp_path: Path) -> None:
    csv_files.write(_ctx(tmp_path, "csv.write"), [[row] for row in ROWS], "out.csv", columns=["b", "a"])
    assert (tmp_path / "out.csv").read_text() == "b,a\n,1\nx,2\ny,\n"
    with pytest.raises(StepError, match=r"^row 1 has column 'c', which the CSV header \(from args.columns\) lacks"):
        csv_files.write(_ctx(tmp_path, "csv.write"), [[{"a": 1, "c": 2}]], "out.csv", columns=["a"])


def test_csv_write_does_not_write_rows_twice_when_one_lacks_a_column(tmp_path: Path) -> None:
    csv_files.write(_ctx(tmp_path, "csv.write"), [[{"a": 1, "b": 2}, {"a": 3}, {"a": 4, "b": 5}]], "out.csv")
    assert (tmp_path / "out.csv").read_text() == "a,b\n1,2\n3,\n4,5\n"


def test_csv_write_of_no_rows_writes_the_header_it_was_given_else_an_empty_file(tmp_path: Path) -> None:
    assert csv_files.write(_ctx(tmp_path, "csv.write"), [[], []], "with.csv", columns=["id", "name"]) == 0
    assert (tmp_path / "with.csv").read_text() == "id,name\n"
    assert csv_files.write(_ctx(tmp_path, "csv.write"), [], "without.csv") == 0
    assert (tmp_path / "without.csv").read_text() == ""


def test_the_reported_pipeline_keeps_column_b_in_sqlite_and_fails_csv_naming_it(plugins, write_config, tmp_path: Path) -> None:
    from orchestrator.config.plan import load_plan
    from orchestrator.engine import Engine

    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: jsonl.read, args: {path: in.jsonl, batch_size: 1}}]}
              load:
                steps:
                  - {id: db, plugin: sqlite.write, args: {database: out.db, table: t}}
                  - {id: file, plugin: csv.write, args: {path: out.csv}}
        """,
        **{"in.jsonl": '{"a":1}\n{"a":2,"b":"x"}\n{"b":"y"}\n'},
    )
    outcome = Engine(load_plan(config, plugins.registry), plugins).run_sync().pipelines["p"]
    assert _table(tmp_path / "out.db", "t") == (["a", "b"], [(1, None), (2, "x"), (None, "y")])
    assert "row 2 has column 'b', which the CSV header (from the first batch) lacks" in (outcome.error or "")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("load", "plugin"),
    [("{plugin: sqlite.write, args: {database: out.db, table: t}}", "sqlite.write"), ("{plugin: csv.write, args: {path: out.csv}}", "csv.write")],
)
def test_several_extract_steps_without_a_transform_say_what_to_do(plugins, write_config, tmp_path: Path, load: str, plugin: str) -> None:
    from orchestrator.config.plan import load_plan
    from orchestrator.engine import Engine

    config = write_config(
        f"""
        pipelines:
          p:
            type: ETL
            phases:
              extract:
                steps:
                  - {{id: customers, plugin: jsonl.read, args: {{path: customers.jsonl}}}}
                  - {{id: orders, plugin: jsonl.read, args: {{path: orders.jsonl}}}}
              load:
                steps: [{load}]
        """,
        **{"customers.jsonl": '{"id": 1}\n', "orders.jsonl": '{"order": 7}\n'},
    )
    result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
    assert result.pipelines["p"].error == (
        f"step '{plugin}' failed: {plugin} received one mapping of row lists (customers, orders), "
        "which is what several extract steps hand on when the pipeline has no transform; add a transform that "
        "combines them into rows (python.call), or give each source a pipeline of its own"
    )
    assert not (tmp_path / "out.csv").exists()


def test_a_row_whose_values_are_lists_is_still_a_row_when_they_hold_no_rows(tmp_path: Path) -> None:
    csv_files.write(_ctx(tmp_path, "csv.write"), [{"tags": ["a", "b"]}], "out.csv")
    assert (tmp_path / "out.csv").read_text() == "tags\n\"['a', 'b']\"\n"
