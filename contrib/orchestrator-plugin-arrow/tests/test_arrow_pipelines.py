"""Arrow pipelines through the engine: round trips, streaming, column selection, row groups."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ORDERS = """
order_id,customer,amount,day
1,Ada,120.50,2026-01-02
2,Grace,80.00,2026-01-03
3,Alan,,2026-01-03
4,"Hopper, Grace",42.25,2026-01-04
"""

# Records the type and size of each batch a transform sees, so tests can check the streaming.
BATCH_LOG = """
def log(batch, path):
    with open(path, "a") as handle:
        handle.write(f"{type(batch).__name__} {batch.num_rows}\\n")
    return batch
"""


def big_csv(path: Path, rows: int) -> pa.Table:
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "name": pa.array([f"name-{i % 97}" for i in range(rows)]),
            "price": pa.array([i * 0.25 for i in range(rows)], pa.float64()),
        }
    )
    pacsv.write_csv(table, path)
    return table


def test_csv_to_parquet_to_csv_round_trip_equals_the_input(
    tmp_path, write, run, config
):
    source = write("data/orders.csv", ORDERS)
    to_parquet = config(
        "{plugin: arrow.read_csv, args: {path: data/orders.csv, column_types: {day: date32}}}",
        "{plugin: arrow.write_parquet, args: {path: out/orders.parquet, compression: zstd}}",
    )
    assert run(to_parquet).ok
    back = config(
        "{plugin: arrow.read_parquet, args: {path: out/orders.parquet}}",
        "{plugin: arrow.write_csv, args: {path: out/orders.csv}}",
    )
    result = run(back, name="back.yaml")

    assert result.ok, result.pipelines["p"].error
    assert result.pipelines["p"].rows == 4
    options = pacsv.ConvertOptions(column_types={"day": pa.date32()})
    original = pacsv.read_csv(source, convert_options=options)
    assert pq.read_table(tmp_path / "out/orders.parquet").equals(original)
    assert pacsv.read_csv(tmp_path / "out/orders.csv", convert_options=options).equals(
        original
    )
    assert original.column("customer").to_pylist()[3] == "Hopper, Grace"


def test_a_large_csv_streams_in_many_record_batches(tmp_path, write, run, config):
    table = big_csv(tmp_path / "big.csv", 50_000)
    write("batchlog.py", BATCH_LOG)
    result = run(
        config(
            "{plugin: arrow.read_csv, args: {path: big.csv, block_size: 65536}}",
            "{plugin: arrow.write_parquet, args: {path: big.parquet, row_group_size: 20000}}",
            f"{{plugin: python.call, args: {{callable: 'batchlog:log', kwargs: {{path: '{tmp_path / 'batches.log'}'}}}}}}",
        )
    )

    assert result.ok, result.pipelines["p"].error
    seen = (tmp_path / "batches.log").read_text().split("\n")[:-1]
    assert len(seen) >= 10
    assert {line.split()[0] for line in seen} == {"RecordBatch"}
    assert sum(int(line.split()[1]) for line in seen) == 50_000
    written = pq.ParquetFile(tmp_path / "big.parquet")
    assert [
        written.metadata.row_group(i).num_rows for i in range(written.num_row_groups)
    ] == [20_000, 20_000, 10_000]
    assert written.read().equals(table)
    extract = next(
        step for step in result.pipelines["p"].steps if step.plugin == "arrow.read_csv"
    )
    assert extract.rows == 50_000


def test_read_parquet_in_batches_of_chosen_columns(tmp_path, write, run, config):
    table = big_csv(tmp_path / "big.csv", 10_000)
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=4_000)
    write("batchlog.py", BATCH_LOG)
    result = run(
        config(
            "{plugin: arrow.read_parquet, args: {path: big.parquet, batch_size: 1000, columns: [price, id]}}",
            "{plugin: arrow.write_parquet, args: {path: out.parquet}}",
            f"{{plugin: python.call, args: {{callable: 'batchlog:log', kwargs: {{path: '{tmp_path / 'batches.log'}'}}}}}}",
        )
    )

    assert result.ok, result.pipelines["p"].error
    sizes = [
        int(line.split()[1])
        for line in (tmp_path / "batches.log").read_text().splitlines()
    ]
    assert max(sizes) == 1000 and sum(sizes) == 10_000
    assert pq.read_table(tmp_path / "out.parquet").equals(table.select(["price", "id"]))


def test_read_csv_with_types_and_only_some_columns(tmp_path, write, run, config):
    write("data/orders.csv", ORDERS)
    result = run(
        config(
            "{plugin: arrow.read_csv, args: {path: data/orders.csv, include_columns: [amount, order_id],"
            " column_types: {amount: 'decimal128(8, 2)', order_id: int32}}}",
            "{plugin: arrow.write_parquet, args: {path: out.parquet}}",
        )
    )

    assert result.ok, result.pipelines["p"].error
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.schema == pa.schema(
        [("amount", pa.decimal128(8, 2)), ("order_id", pa.int32())]
    )
    assert written.column("order_id").to_pylist() == [1, 2, 3, 4]


def test_a_semicolon_csv_is_read_and_written_with_its_delimiter(
    tmp_path, write, run, config
):
    write("in.csv", "a;b\n1;x\n2;y\n")
    result = run(
        config(
            "{plugin: arrow.read_csv, args: {path: in.csv, delimiter: ';'}}",
            "{plugin: arrow.write_csv, args: {path: out.csv, delimiter: '|', quoting: none}}",
        )
    )

    assert result.ok, result.pipelines["p"].error
    assert (
        tmp_path / "out.csv"
    ).read_text() == '"a"|"b"\n1|x\n2|y\n'  # Arrow always quotes the header


def test_select_keeps_reorders_and_renames_columns(tmp_path, write, run, config):
    write("data/orders.csv", ORDERS)
    result = run(
        config(
            "{plugin: arrow.read_csv, args: {path: data/orders.csv}}",
            "{plugin: arrow.write_parquet, args: {path: out.parquet}}",
            "{plugin: arrow.select, args: {columns: [customer, order_id], rename: {customer: name}}}",
        )
    )

    assert result.ok, result.pipelines["p"].error
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.column_names == ["name", "order_id"]
    assert written.column("name").to_pylist() == [
        "Ada",
        "Grace",
        "Alan",
        "Hopper, Grace",
    ]


def test_one_stream_feeds_parquet_and_csv_loads_at_once(tmp_path, write, run):
    source = write("data/orders.csv", ORDERS)
    result = run(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract:
                steps: [{plugin: arrow.read_csv, args: {path: data/orders.csv}}]
              load:
                steps:
                  - {plugin: arrow.write_parquet, args: {path: out/a.parquet}}
                  - {plugin: arrow.write_csv, args: {path: out/a.csv}}
        """
    )

    assert result.ok, result.pipelines["p"].error
    original = pacsv.read_csv(source)
    assert pq.read_table(tmp_path / "out/a.parquet").equals(original)
    assert pacsv.read_csv(tmp_path / "out/a.csv").equals(original)
    assert [
        step.rows for step in result.pipelines["p"].steps if step.phase == "load"
    ] == [4, 4]


def test_an_empty_input_writes_empty_files(tmp_path, write, run, config):
    write("header_only.csv", "a,b\n")
    result = run(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract:
                steps: [{plugin: arrow.read_csv, args: {path: header_only.csv}}]
              load:
                steps:
                  - {plugin: arrow.write_parquet, args: {path: empty.parquet}}
                  - {plugin: arrow.write_csv, args: {path: empty.csv}}
        """
    )

    assert result.ok, result.pipelines["p"].error
    assert pq.read_table(tmp_path / "empty.parquet").num_rows == 0
    assert (tmp_path / "empty.csv").read_text() == ""
