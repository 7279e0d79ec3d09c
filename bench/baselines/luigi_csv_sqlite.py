"""CSV -> SQLite peer: Luigi's own way to fill a database table, ``luigi.contrib.sqla.CopyToTable``
(SQLAlchemy, one transaction, inserts in chunks of 5,000 rows), fed by the CSV file as an
``ExternalTask``. The table has the CSV's five columns as TEXT, as the orchestrator's
csv.read -> sqlite.write makes it.

Usage: python luigi_csv_sqlite.py SOURCE DATABASE
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import luigi  # type: ignore[import-not-found, unused-ignore]
import sqlalchemy  # type: ignore[import-not-found, unused-ignore]
from luigi.contrib import sqla  # type: ignore[import-not-found, unused-ignore]

COLUMNS = ("id", "name", "city", "quantity", "price")


class SourceCsv(luigi.ExternalTask):  # type: ignore[misc, unused-ignore]
    path = luigi.Parameter()

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(self.path)


class CsvToSqlite(sqla.CopyToTable):  # type: ignore[misc, unused-ignore]
    source = luigi.Parameter()
    database = luigi.Parameter()
    table = "rows"
    columns: ClassVar[list[tuple[list[Any], dict[str, Any]]]] = [([name, sqlalchemy.Text()], {}) for name in COLUMNS]

    @property
    def connection_string(self) -> str:
        return f"sqlite:///{self.database}"

    def requires(self) -> SourceCsv:
        return SourceCsv(path=self.source)

    def rows(self) -> Iterator[list[str]]:
        with self.input().open("r") as handle:
            reader = csv.reader(handle)
            next(reader)  # the header
            yield from reader


if __name__ == "__main__":
    ok = luigi.build([CsvToSqlite(source=sys.argv[1], database=sys.argv[2])], local_scheduler=True)
    sys.exit(0 if ok else 1)
