"""1M-row CSV peer: the CSV job as a Kedro pipeline, one node adding the same column as
bench/steps/csv_steps.py:add_column between two catalog datasets, run by ``SequentialRunner``.
The datasets are a small custom ``AbstractDataset`` over the csv module (Kedro's own CSVDataset
needs pandas, which would measure pandas, not the same row dicts); as Kedro datasets do, it
loads the whole file and saves the whole result.

Usage: python kedro_csv.py SOURCE OUTPUT
"""

from __future__ import annotations

import csv
import sys
from typing import Any

from kedro.io import AbstractDataset, DataCatalog  # type: ignore[import-not-found, unused-ignore]
from kedro.pipeline import Pipeline, node  # type: ignore[import-not-found, unused-ignore]
from kedro.runner import SequentialRunner  # type: ignore[import-not-found, unused-ignore]

Rows = list[dict[str, Any]]


class CsvRows(AbstractDataset[Rows, Rows]):  # type: ignore[misc, unused-ignore]
    def __init__(self, filepath: str) -> None:
        self._filepath = filepath

    def load(self) -> Rows:
        with open(self._filepath, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def save(self, data: Rows) -> None:
        with open(self._filepath, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(data[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(data)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}


def add_column(rows: Rows) -> Rows:
    for row in rows:
        row["name_upper"] = row["name"].upper()
    return rows


if __name__ == "__main__":
    catalog = DataCatalog({"source": CsvRows(sys.argv[1]), "output": CsvRows(sys.argv[2])})
    SequentialRunner().run(Pipeline([node(add_column, "source", "output")]), catalog)
