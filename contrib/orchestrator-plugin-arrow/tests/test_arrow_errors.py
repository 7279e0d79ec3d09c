"""Every failure of an Arrow step is one line that says what to fix: no traceback, no C++ context."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

TO_PARQUET = "{plugin: arrow.write_parquet, args: {path: out.parquet}}"


def test_missing_csv_file(tmp_path, failure, config):
    error = failure(
        config(
            "{id: orders, plugin: arrow.read_csv, args: {path: data/nope.csv}}",
            TO_PARQUET,
        )
    )
    assert error == (
        f"step 'orders' (arrow.read_csv) failed: file not found: {tmp_path / 'data/nope.csv'} (paths are relative to the pipeline file)"
    )


def test_missing_parquet_file(tmp_path, failure, config):
    error = failure(
        config(
            "{id: src, plugin: arrow.read_parquet, args: {path: nope.parquet}}",
            TO_PARQUET,
        )
    )
    assert (
        error
        == f"step 'src' (arrow.read_parquet) failed: file not found: {tmp_path / 'nope.parquet'} (paths are relative to the pipeline file)"
    )


def test_malformed_csv_row_is_named_by_its_line(write, failure, config):
    rows = "".join(f"{i},name{i},{i}.5\n" for i in range(2000))
    write("bad.csv", "id,name,price\n" + rows + "\n2000,oops\n" + rows)
    error = failure(
        config(
            "{id: read, plugin: arrow.read_csv, args: {path: bad.csv, block_size: 8192}}",
            TO_PARQUET,
        )
    )
    assert (
        error
        == "step 'read' (arrow.read_csv) failed: bad.csv:2003: 2 fields, but the header has 3; fix the row or the delimiter: 2000,oops"
    )


def test_value_of_the_wrong_type_is_named_by_column_and_line(write, failure, config):
    write("bad.csv", "id,amount\n1,2.5\n2,3.5\nx7,1.0\n")
    error = failure(
        config(
            "{id: read, plugin: arrow.read_csv, args: {path: bad.csv, column_types: {id: int64}}}",
            TO_PARQUET,
        )
    )
    assert error == (
        "step 'read' (arrow.read_csv) failed: bad.csv:4: column 'id': cannot read 'x7' as int64; "
        "fix the value or set 'column_types' (types are guessed from the first block)"
    )


def test_empty_csv_file(write, failure, config):
    write("empty.csv", "")
    error = failure(
        config(
            "{id: read, plugin: arrow.read_csv, args: {path: empty.csv}}", TO_PARQUET
        )
    )
    assert (
        error
        == "step 'read' (arrow.read_csv) failed: empty.csv: the file is empty (a CSV file needs a header line)"
    )


def test_unknown_type_name(write, failure, config):
    write("in.csv", "a\n1\n")
    error = failure(
        config(
            "{id: read, plugin: arrow.read_csv, args: {path: in.csv, column_types: {a: integer}}}",
            TO_PARQUET,
        )
    )
    assert error.startswith(
        "step 'read' (arrow.read_csv) failed: column 'a': unknown type 'integer'; use one of int64, float64"
    )


def test_column_types_for_a_column_not_in_the_file(write, failure, config):
    write("in.csv", "a,b\n1,2\n")
    error = failure(
        config(
            "{id: read, plugin: arrow.read_csv, args: {path: in.csv, column_types: {c: int64}}}",
            TO_PARQUET,
        )
    )
    assert (
        error
        == "step 'read' (arrow.read_csv) failed: in.csv: 'column_types' names columns not read from the file: c (columns: a, b)"
    )


def test_not_a_parquet_file(write, failure, config):
    write("fake.parquet", "a,b\n1,2\n")
    error = failure(
        config(
            "{id: src, plugin: arrow.read_parquet, args: {path: fake.parquet}}",
            TO_PARQUET,
        )
    )
    assert error.startswith(
        "step 'src' (arrow.read_parquet) failed: fake.parquet: not a readable Parquet file: Parquet magic bytes not found"
    )


def test_unknown_parquet_column(tmp_path, failure, config):
    pq.write_table(pa.table({"a": [1], "b": [2]}), tmp_path / "t.parquet")
    error = failure(
        config(
            "{id: src, plugin: arrow.read_parquet, args: {path: t.parquet, columns: [a, z]}}",
            TO_PARQUET,
        )
    )
    assert (
        error
        == "step 'src' (arrow.read_parquet) failed: t.parquet: no column 'z' in the file (columns: a, b)"
    )


def test_rows_arriving_at_an_arrow_load_ask_for_from_rows(write, failure, config):
    write("in.csv", "a,b\n1,2\n")
    error = failure(
        config(
            "{plugin: csv.read, args: {path: in.csv}}",
            "{id: out, plugin: arrow.write_parquet, args: {path: out.parquet}}",
        )
    )
    assert error == (
        "step 'out' (arrow.write_parquet) failed: arrow.write_parquet expects Arrow record batches, "
        "got a list of row dicts; add arrow.from_rows before it to convert rows"
    )


def test_rows_arriving_at_the_csv_writer_ask_for_from_rows(write, failure, config):
    write("in.csv", "a,b\n1,2\n")
    error = failure(
        config(
            "{plugin: csv.read, args: {path: in.csv}}",
            "{id: out, plugin: arrow.write_csv, args: {path: out.csv}}",
        )
    )
    assert error.endswith(
        "arrow.write_csv expects Arrow record batches, got a list of row dicts; add arrow.from_rows before it to convert rows"
    )


def test_batches_whose_schemas_differ(write, failure, config):
    write(
        "rows.py",
        """
        def batches():
            yield [{"id": 1, "score": 2.5}]
            yield [{"id": 2, "score": None}]
        """,
    )
    error = failure(
        config(
            "{plugin: python.call, args: {callable: 'rows:batches'}}",
            "{id: out, plugin: arrow.write_parquet, args: {path: out.parquet}}",
            "{plugin: arrow.from_rows}",
        )
    )
    assert error == (
        "step 'out' (arrow.write_parquet) failed: batch 2: column 'score' is null here but double in the first batch; "
        "fix its type upstream ('types' of arrow.from_rows, 'column_types' of arrow.read_csv)"
    )


def test_batches_whose_columns_differ(write, failure, config):
    write(
        "rows.py",
        """
        def batches():
            yield [{"id": 1, "name": "a"}]
            yield [{"id": 2, "city": "b"}]
        """,
    )
    error = failure(
        config(
            "{plugin: python.call, args: {callable: 'rows:batches'}}",
            "{id: out, plugin: arrow.write_csv, args: {path: out.csv}}",
            "{plugin: arrow.from_rows}",
        )
    )
    assert (
        error
        == "step 'out' (arrow.write_csv) failed: batch 2: columns differ from the first batch (missing name; extra city): "
        "id, city vs id, name; a file has the columns of its first batch: give every row every column (None where it has "
        "no value) and their types in arrow.from_rows' types, or drop the extra ones with arrow.select"
    )


def test_arrow_batches_arriving_at_from_rows(write, failure, config):
    write("in.csv", "a\n1\n")
    error = failure(
        config(
            "{plugin: arrow.read_csv, args: {path: in.csv}}",
            TO_PARQUET,
            "{plugin: arrow.from_rows}",
        )
    )
    assert error == (
        "step 'arrow.from_rows' failed: arrow.from_rows expects rows (a list of dicts), got RecordBatch; "
        "the data is already Arrow, remove arrow.from_rows"
    )


def test_a_value_that_does_not_fit_the_given_type(write, failure, config):
    write("in.csv", "a\nx\n")
    error = failure(
        config(
            "{plugin: csv.read, args: {path: in.csv}}",
            TO_PARQUET,
            "{plugin: arrow.from_rows, args: {types: {a: int64}}}",
        )
    )
    assert error.startswith("step 'arrow.from_rows' failed: column 'a': ")
    assert "'x'" in error


def test_select_of_a_missing_column(write, failure, config):
    write("in.csv", "a,b\n1,2\n")
    error = failure(
        config(
            "{plugin: arrow.read_csv, args: {path: in.csv}}",
            TO_PARQUET,
            "{plugin: arrow.select, args: {columns: [a, c]}}",
        )
    )
    assert error == "step 'arrow.select' failed: no column 'c' (columns: a, b)"


def test_rows_given_to_to_rows(write, failure, config):
    write("in.csv", "a\n1\n")
    error = failure(
        config(
            "{plugin: csv.read, args: {path: in.csv}}",
            "{plugin: sqlite.write, args: {database: o.db, table: t}}",
            "{plugin: arrow.to_rows}",
        )
    )
    assert error == (
        "step 'arrow.to_rows' failed: arrow.to_rows expects Arrow record batches, got a list of row dicts; "
        "the data is already rows, remove arrow.to_rows"
    )


def test_include_columns_naming_a_missing_column(write, failure, config):
    write("in.csv", "a,b\n1,2\n")
    error = failure(
        config(
            "{id: read, plugin: arrow.read_csv, args: {path: in.csv, include_columns: [a, zz]}}",
            TO_PARQUET,
        )
    )
    assert (
        error
        == "step 'read' (arrow.read_csv) failed: in.csv: Column 'zz' in include_columns does not exist in CSV file"
    )
