"""The load ledger: which batches of a load ``sql.write`` committed, kept in the target itself.

Each chunk is inserted in the same transaction as its ledger row ``(load_id, number, rows)``, so
the two commit together or not at all. A load run again under the same ``ctx.load_id`` (a retry,
or ``orchestrator run --resume``) skips the chunks the ledger names, and neither doubles nor loses
rows. The table is the same as the built-in ``sqlite.write`` keeps: ``_orchestrator_loads``.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

LEDGER = "_orchestrator_loads"


def ledger_table(schema: str | None) -> sa.Table:
    return sa.Table(
        LEDGER,
        sa.MetaData(),
        sa.Column("load_id", sa.Text, primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("committed", sa.Float, nullable=False),
        schema=schema,
    )


def committed(connection: Connection, table: sa.Table, load_id: str) -> dict[int, int]:
    """The chunks (number: rows) this load committed before; creates the ledger when missing."""
    with connection.begin():
        table.create(connection, checkfirst=True)
        found = connection.execute(sa.select(table.c.batch, table.c.rows).where(table.c.load_id == load_id))
        return {number: rows for number, rows in found}


def record(connection: Connection, table: sa.Table, load_id: str, number: int, rows: int) -> None:
    """Inside the chunk's own transaction: the chunk is committed."""
    connection.execute(sa.insert(table).values(load_id=load_id, batch=number, rows=rows, committed=time.time()))
