"""End to end through the installed ``orchestrator`` command, as a user runs it."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROUND_TRIP = """
pipelines:
  to_parquet:
    type: ETL
    phases:
      extract:
        steps: [{id: read, plugin: arrow.read_csv, args: {path: data/sales.csv, block_size: 16384}}]
      load:
        steps: [{id: write, plugin: arrow.write_parquet, args: {path: out/sales.parquet, row_group_size: 1500}}]
  back_to_csv:
    type: ETL
    depends_on: [to_parquet]
    phases:
      extract:
        steps: [{id: read, plugin: arrow.read_parquet, args: {path: out/sales.parquet, batch_size: 700}}]
      load:
        steps: [{id: write, plugin: arrow.write_csv, args: {path: out/sales.csv}}]
"""


def test_csv_to_parquet_to_csv_through_the_cli(tmp_path, write, orchestrator):
    rows = 5000
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "region": pa.array(
                [["north", "south, east", 'say "hi"'][i % 3] for i in range(rows)]
            ),
            "amount": pa.array([i / 8 for i in range(rows)]),
            "paid": pa.array([i % 2 == 0 for i in range(rows)]),
        }
    )
    (tmp_path / "data").mkdir()
    pacsv.write_csv(table, tmp_path / "data/sales.csv")
    write("pipeline.yaml", ROUND_TRIP)

    done = orchestrator("run", "pipeline.yaml", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "to_parquet   succeeded  5000" in done.stdout
        and "back_to_csv  succeeded  5000" in done.stdout
    )
    assert pq.ParquetFile(tmp_path / "out/sales.parquet").num_row_groups == 4
    assert pq.read_table(tmp_path / "out/sales.parquet").equals(table)
    assert pacsv.read_csv(tmp_path / "out/sales.csv").equals(
        pacsv.read_csv(tmp_path / "data/sales.csv")
    )


def test_a_malformed_csv_fails_with_one_line_and_exit_1(
    tmp_path, write, orchestrator, config
):
    write("data/bad.csv", "a,b\n1,2\n3\n")
    write(
        "pipeline.yaml",
        config(
            "{id: read, plugin: arrow.read_csv, args: {path: data/bad.csv}}",
            "{plugin: arrow.write_parquet, args: {path: o.parquet}}",
        ),
    )

    done = orchestrator("run", "pipeline.yaml", cwd=tmp_path)

    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert (
        "step 'read' (arrow.read_csv) failed: data/bad.csv:3: 1 fields, but the header has 2; fix the row or the delimiter: 3"
        in output
    )
    assert not (tmp_path / "o.parquet").exists()
