"""``sql.query``: a SELECT's rows, streamed in batches.

The rows come from a server-side cursor where the driver has one (PostgreSQL: a named cursor;
SQLite reads lazily anyway), ``batch_size`` at a time, so a query of any size runs in flat memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator_plugin_sql.database import open_database
from orchestrator_plugin_sql.plugin import DEFAULT_BATCH_SIZE


def query(
    ctx: StepContext,
    url: str,
    query: str,
    parameters: dict[str, Any] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the query's rows as dicts, ``batch_size`` at a time.

    Without ``parameters`` the SQL goes to the driver exactly as written (a ``:`` or ``%`` in it
    means nothing special); with them, ``:name`` placeholders are bound from the mapping.
    """
    with open_database(ctx, url, write=False) as (database, connection), database.guard("query"):
        streaming = connection.execution_options(yield_per=batch_size)
        if parameters:
            result = streaming.execute(sa.text(query), parameters)
        else:
            result = streaming.execution_options(no_parameters=True).exec_driver_sql(query)
        if not result.returns_rows:
            raise StepError(
                f"the query returned no rows on {database.shown}; sql.query runs a SELECT "
                "(statements that change data belong in sql.execute)"
            )
        names = list(result.keys())
        for part in result.partitions(batch_size):
            yield [dict(zip(names, row)) for row in part]
