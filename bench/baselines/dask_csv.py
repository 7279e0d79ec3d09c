"""1M-row CSV peer: the CSV job in Dask, as a Dask user writes it without pandas: ``dask.bag``
reads the file in blocks of lines, each partition is parsed with the csv module, gets the same
column as bench/steps/csv_steps.py:add_column and is formatted back, ``to_textfiles`` writes one
part per partition, and the parts are joined after the header into one CSV, byte-identical to the
orchestrator's. dask.bag's default scheduler runs partitions in a pool of worker processes, one
per CPU: Dask's parallelism is part of what is measured.

Usage: python dask_csv.py SOURCE OUTPUT
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import dask.bag as db

BLOCK = 8 * 2**20


def add_column(lines: Iterable[str], header: str) -> list[str]:
    """One partition: rows with ``name_upper`` added, as CSV lines without their line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(line for line in lines if line != header):
        row.append(row[1].upper())
        writer.writerow(row)
    return out.getvalue().split("\n")[:-1]


def convert(source: str, output: str) -> None:
    with open(source, encoding="utf-8", newline="") as handle:
        header = handle.readline()
    with tempfile.TemporaryDirectory(dir=Path(output).parent) as parts:
        bag = db.read_text(source, blocksize=BLOCK).map_partitions(add_column, header)  # type: ignore[no-untyped-call, unused-ignore]
        files = bag.to_textfiles(f"{parts}/*.csv", last_endline=True)
        with open(output, "w", encoding="utf-8", newline="") as out:
            out.write(header.rstrip("\r\n") + ",name_upper\n")
            for part in sorted(files, key=lambda name: int(Path(name).stem)):
                with open(part, encoding="utf-8", newline="") as piece:
                    shutil.copyfileobj(piece, out, 2**20)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
