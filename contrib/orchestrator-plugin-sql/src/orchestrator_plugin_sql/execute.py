"""``sql.execute``: SQL run inside the target after the loads (the T of ELT), in one transaction.

Every statement runs in the same transaction: when one fails, none of them took effect (PostgreSQL
and SQLite both roll back DDL too). The step returns the rows the statements changed.
"""

from __future__ import annotations

import sqlite3

from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator_plugin_sql import statements
from orchestrator_plugin_sql.database import open_database

_SHOWN = 60


def execute(ctx: StepContext, url: str, sql: str) -> int:
    """Run the statements of ``sql`` in one transaction; returns the number of rows changed."""
    with open_database(ctx, url, write=True) as (database, connection):
        complete = sqlite3.complete_statement if database.dialect == "sqlite" else None
        script = statements.split(sql, complete)
        if not script:
            raise StepError("args.sql holds no statement (only comments or ';')")
        raw = connection.execution_options(no_parameters=True)  # the SQL as written: ':' and '%' are plain text
        changed = 0
        with database.guard("committing the SQL"), connection.begin():
            for number, statement in enumerate(script, 1):
                with database.guard(_which(number, len(script), statement)):
                    result = raw.exec_driver_sql(statement)
                if not result.returns_rows and result.rowcount > 0:
                    changed += result.rowcount
        return changed


def _which(number: int, total: int, statement: str) -> str:
    """How a failure names the statement: its position, and its start when there are several."""
    if total == 1:
        return "SQL"
    text = " ".join(statement.split())
    text = text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
    return f"statement {number} of {total} ({text})"
