"""CSV -> SQLite baseline: the plain script, csv.reader straight into ``executemany`` in one
transaction, into a table of the CSV's columns as TEXT (what csv.read -> sqlite.write makes).

Usage: python sqlite_rows.py SOURCE DATABASE
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from contextlib import closing


def load(source: str, database: str) -> None:
    with open(source, encoding="utf-8", newline="") as handle, closing(sqlite3.connect(database)) as connection:
        reader = csv.reader(handle)
        header = next(reader)
        connection.execute(f"CREATE TABLE rows ({', '.join(f'{name} TEXT' for name in header)})")
        with connection:
            connection.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * len(header))})", reader)


if __name__ == "__main__":
    load(sys.argv[1], sys.argv[2])
