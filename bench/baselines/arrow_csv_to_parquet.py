"""Arrow baseline: the plain pyarrow script that converts a CSV file to Parquet while streaming,
doing what the orchestrator's arrow.read_csv -> arrow.write_parquet pipeline does: the CSV read
block by block (pyarrow.csv.open_csv, default 1 MiB blocks), batches gathered into row groups of
262,144 rows (the plugin's default), written with snappy compression. Same settings, so the two outputs are identical
files, which the harness checks.

Usage: python arrow_csv_to_parquet.py SOURCE OUTPUT
"""

from __future__ import annotations

import sys

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROW_GROUP = 512 * 512


def convert(source: str, output: str) -> None:
    reader = pacsv.open_csv(source)
    with pq.ParquetWriter(output, reader.schema, compression="snappy") as writer:
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= ROW_GROUP:
                table = pa.Table.from_batches(pending)
                whole = rows - rows % ROW_GROUP
                writer.write_table(table.slice(0, whole), row_group_size=ROW_GROUP)
                rest = table.slice(whole)
                pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=ROW_GROUP)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
