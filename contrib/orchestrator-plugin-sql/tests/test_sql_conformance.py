"""The core's conformance suite over this plugin's steps: schemas, signatures, pickling, empty and
bad input, the idempotent-load contract, and no column lost (on a SQLite file)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from orchestrator.testing import conformance_suite


def _rows(args: dict[str, Any], base_dir: Path) -> list[dict[str, Any]]:
    database = base_dir / args["url"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        try:
            cursor = db.execute(f'SELECT * FROM "{args["table"]}"')
        except sqlite3.OperationalError:  # no table yet: nothing loaded
            return []
        return [dict(zip([c[0] for c in cursor.description], row)) for row in cursor]


TestSqlConformance = conformance_suite(
    "sql",
    examples={
        "sql.query": {"url": "sqlite:///in.db", "query": "SELECT 1"},
        "sql.write": {"url": "sqlite:///out.db", "table": "t"},
        "sql.execute": {"url": "sqlite:///out.db", "sql": "SELECT 1"},
    },
    idempotent_loads={"sql.write": lambda args, base_dir: len(_rows(args, base_dir))},
    read_back={"sql.write": _rows},
)
