"""CSV baseline: stream a CSV row by row through csv.DictReader, add the same column the
pipeline's transform adds, and write it with csv.DictWriter. The output is byte-identical to the
orchestrator's (same column order, ``\\n`` line endings), which the harness checks.

Usage: python csv_rows.py SOURCE OUTPUT
"""

from __future__ import annotations

import csv
import sys


def main(source: str, output: str) -> None:
    with open(source, encoding="utf-8", newline="") as src, open(output, "w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=[*(reader.fieldnames or []), "name_upper"], lineterminator="\n")
        writer.writeheader()
        for row in reader:
            row["name_upper"] = row["name"].upper()
            writer.writerow(row)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
