"""CSV baseline: stream a CSV row by row, add the same column the pipeline's transform adds, and
write it out. The output is byte-identical to the orchestrator's (same column order, ``\\n`` line
endings), which the harness checks.

Two ways, both streaming: ``dicts`` (the default) uses csv.DictReader and csv.DictWriter, the
plain script most people write; ``lists`` uses csv.reader and csv.writer on lists, the fastest a
plain script gets, to show how much of the orchestrator's time is dict rows.

Usage: python csv_rows.py SOURCE OUTPUT [dicts|lists]
"""

from __future__ import annotations

import csv
import sys


def with_dicts(source: str, output: str) -> None:
    with open(source, encoding="utf-8", newline="") as src, open(output, "w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=[*(reader.fieldnames or []), "name_upper"], lineterminator="\n")
        writer.writeheader()
        for row in reader:
            row["name_upper"] = row["name"].upper()
            writer.writerow(row)


def with_lists(source: str, output: str) -> None:
    with open(source, encoding="utf-8", newline="") as src, open(output, "w", encoding="utf-8", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst, lineterminator="\n")
        header = next(reader)
        name = header.index("name")
        writer.writerow([*header, "name_upper"])
        for row in reader:
            row.append(row[name].upper())
            writer.writerow(row)


if __name__ == "__main__":
    {"dicts": with_dicts, "lists": with_lists}[sys.argv[3] if len(sys.argv) > 3 else "dicts"](sys.argv[1], sys.argv[2])
