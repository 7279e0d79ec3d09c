"""Arrow batches and row dicts in one pipeline: arrow.to_rows into sqlite.write and python.call,
arrow.from_rows from the built-in csv.read into Arrow loads."""

from __future__ import annotations

import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq

PEOPLE = "id,name,score\n1,Ada,9.5\n2,Grace,8.0\n3,Alan,\n"

ADD_GRADE = """
def add_grade(rows):
    return [{**row, "grade": "A" if (row["score"] or 0) >= 9 else "B"} for row in rows]
"""


def test_parquet_rows_reach_sqlite_through_to_rows(tmp_path, run, config):
    table = pa.table(
        {"id": [1, 2, 3], "name": ["Ada", "Grace", "Alan"], "score": [9.5, 8.0, None]}
    )
    pq.write_table(table, tmp_path / "people.parquet")
    result = run(
        config(
            "{plugin: arrow.read_parquet, args: {path: people.parquet, batch_size: 2}}",
            "{plugin: sqlite.write, args: {database: out.db, table: people, mode: replace}}",
            "{plugin: arrow.to_rows}",
        )
    )

    assert result.ok, result.pipelines["p"].error
    with sqlite3.connect(tmp_path / "out.db") as db:
        assert db.execute(
            "SELECT id, name, score FROM people ORDER BY id"
        ).fetchall() == [
            (1, "Ada", 9.5),
            (2, "Grace", 8.0),
            (3, "Alan", None),
        ]


def test_rows_from_a_python_step_go_back_to_arrow_with_fixed_types(
    tmp_path, write, run
):
    write("people.csv", PEOPLE)
    write("grades.py", ADD_GRADE)
    result = run(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract:
                steps: [{plugin: arrow.read_csv, args: {path: people.csv}}]
              transform:
                steps:
                  - {plugin: arrow.to_rows}
                  - {plugin: python.call, args: {callable: "grades:add_grade"}}
                  - {plugin: arrow.from_rows, args: {types: {score: float32, grade: string}}}
              load:
                steps: [{plugin: arrow.write_parquet, args: {path: out.parquet}}]
        """
    )

    assert result.ok, result.pipelines["p"].error
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.schema == pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("score", pa.float32()),
            ("grade", pa.string()),
        ]
    )
    assert written.column("grade").to_pylist() == ["A", "B", "B"]


def test_builtin_csv_rows_become_arrow_batches(tmp_path, write, run, config):
    write("people.csv", PEOPLE)
    # the second batch holds only Alan, whose empty score alone would be inferred as type null
    result = run(
        config(
            "{plugin: csv.read, args: {path: people.csv, batch_size: 2, types: {id: int, score: float}}}",
            "{plugin: arrow.write_parquet, args: {path: out.parquet}}",
            "{plugin: arrow.from_rows, args: {types: {score: float64}}}",
        )
    )

    assert result.ok, result.pipelines["p"].error
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.num_rows == 3
    assert written.to_pylist()[2] == {"id": 3, "name": "Alan", "score": None}


def test_from_rows_takes_keys_that_appear_in_later_rows(tmp_path, write, run):
    write(
        "rows.py",
        """
        def extract():
            return [{"a": 1}, {"a": 2, "b": "x"}]
        """,
    )
    result = run(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract:
                steps: [{plugin: python.call, args: {callable: "rows:extract"}}]
              transform:
                steps: [{plugin: arrow.from_rows}]
              load:
                steps: [{plugin: arrow.write_csv, args: {path: out.csv}}]
        """
    )

    assert result.ok, result.pipelines["p"].error
    assert (tmp_path / "out.csv").read_text() == '"a","b"\n1,\n2,"x"\n'
