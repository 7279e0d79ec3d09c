"""The steps of the pipeline-flow peer's workloads, as pipeline-flow custom plugins (classes
registered by ``plugin_name``; a YAML file lists this file under ``plugins: custom: files``).

They do what the orchestrator's steps of the same figures do: two trivial rows, a 0.1 s sleep, a
CSV read into row dicts, an ``executemany`` into SQLite. pipeline-flow has no streaming, so the CSV
is read whole; blocking file and database work runs in a thread, as its AsyncAdapterMixin does.
"""

from __future__ import annotations

import asyncio
import csv
import sqlite3
from contextlib import closing
from typing import Any

from pipeline_flow.plugins import IExtractPlugin, ILoadPlugin, IMergeExtractPlugin  # type: ignore[import-not-found, unused-ignore]


class TrivialExtract(IExtractPlugin, plugin_name="bench_trivial_extract"):  # type: ignore[misc, call-arg, unused-ignore]
    async def __call__(self) -> list[dict[str, Any]]:
        return [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}]


class DiscardLoad(ILoadPlugin, plugin_name="bench_discard_load"):  # type: ignore[misc, call-arg, unused-ignore]
    async def __call__(self, data: Any) -> None:
        return None


class SleepExtract(IExtractPlugin, plugin_name="bench_sleep"):  # type: ignore[misc, call-arg, unused-ignore]
    def __init__(self, plugin_id: str, seconds: float) -> None:
        super().__init__(plugin_id)
        self.seconds = seconds

    async def __call__(self) -> None:
        await asyncio.sleep(self.seconds)


class KeepAll(IMergeExtractPlugin, plugin_name="bench_merge"):  # type: ignore[misc, call-arg, unused-ignore]
    """Several extract steps need a merge step in pipeline-flow; this one keeps every result."""

    def __call__(self, extracted_data: dict[str, Any]) -> dict[str, Any]:
        return extracted_data


class CsvExtract(IExtractPlugin, plugin_name="bench_csv_read"):  # type: ignore[misc, call-arg, unused-ignore]
    def __init__(self, plugin_id: str, path: str) -> None:
        super().__init__(plugin_id)
        self.path = path

    def _read(self) -> list[dict[str, str]]:
        with open(self.path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    async def __call__(self) -> list[dict[str, str]]:
        return await asyncio.to_thread(self._read)


class SqliteLoad(ILoadPlugin, plugin_name="bench_sqlite_write"):  # type: ignore[misc, call-arg, unused-ignore]
    def __init__(self, plugin_id: str, database: str, table: str) -> None:
        super().__init__(plugin_id)
        self.database, self.table = database, table

    def _write(self, rows: list[dict[str, str]]) -> None:
        columns = list(rows[0])
        with closing(sqlite3.connect(self.database)) as connection:
            connection.execute(f"CREATE TABLE {self.table} ({', '.join(f'{c} TEXT' for c in columns)})")
            with connection:
                connection.executemany(
                    f"INSERT INTO {self.table} VALUES ({', '.join('?' * len(columns))})",
                    [tuple(row[c] for c in columns) for row in rows],
                )

    async def __call__(self, data: list[dict[str, str]]) -> None:
        await asyncio.to_thread(self._write, data)
