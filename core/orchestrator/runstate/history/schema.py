"""The history's tables and indexes, and how a database an older version created is brought up
to date: every store runs :func:`create_or_migrate` when it opens, in one transaction.

Only additions are ever made (a column, an index), so an older version can still read and write a
database a newer one migrated, and two versions can share one store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TABLES = (
    """CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, config TEXT NOT NULL, config_hash TEXT NOT NULL, params TEXT NOT NULL,
    status TEXT NOT NULL, started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION, elapsed DOUBLE PRECISION
)""",
    """CREATE TABLE IF NOT EXISTS pipeline_runs (
    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,
    started DOUBLE PRECISION, finished DOUBLE PRECISION, elapsed DOUBLE PRECISION, error TEXT,
    PRIMARY KEY (run_id, pipeline)
)""",
    """CREATE TABLE IF NOT EXISTS step_attempts (
    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, phase TEXT NOT NULL, step TEXT NOT NULL, plugin TEXT NOT NULL,
    attempt INTEGER NOT NULL, status TEXT NOT NULL, started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION,
    elapsed DOUBLE PRECISION, rows BIGINT, error TEXT, rejected BIGINT, rows_in BIGINT,
    PRIMARY KEY (run_id, pipeline, step, attempt)
)""",
    """CREATE TABLE IF NOT EXISTS phase_runs (
    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, phase TEXT NOT NULL, status TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION, elapsed DOUBLE PRECISION,
    PRIMARY KEY (run_id, pipeline, phase)
)""",
    # what steps logged, in the order it was logged (``seq`` counts a run's lines); ``pipeline`` and
    # ``step`` are NULL for a line logged outside a step (a hook, a notification)
    """CREATE TABLE IF NOT EXISTS step_logs (
    run_id TEXT NOT NULL, seq BIGINT NOT NULL, pipeline TEXT, step TEXT, attempt INTEGER,
    time DOUBLE PRECISION NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
)""",
)

#: columns added since the tables were first released: (table, column, type), added to a
#: database an older version created. ``runs.retired`` is when a later success of the same file
#: removed the run's checkpoints (NULL while it may still hold some). ``runs.config_text`` is the
#: pipeline file as it was run, redacted (NULL for runs recorded before it was kept). ``runs.resumed`` is
#: when the run was last resumed (NULL: never), which says that its ``elapsed`` is that resume's and
#: that the pipelines which ended before it were reused. What the work used, from the
#: events' fields of the same names (``cpu`` seconds, ``rss`` peak bytes, ``bytes_read``,
#: ``bytes_written``, estimated ``cost``), a pipeline's ``rows`` and the ``currency`` of a run's
#: costs: see ``docs/monitoring.md``.
ADDED_COLUMNS = (
    ("step_attempts", "rejected", "BIGINT"),
    ("step_attempts", "rows_in", "BIGINT"),
    ("runs", "host", "TEXT"),
    ("runs", "pid", "INTEGER"),
    ("runs", "retired", "DOUBLE PRECISION"),
    ("runs", "config_text", "TEXT"),
    ("step_attempts", "cpu", "DOUBLE PRECISION"),
    ("step_attempts", "rss", "BIGINT"),
    ("step_attempts", "bytes_read", "BIGINT"),
    ("step_attempts", "bytes_written", "BIGINT"),
    ("step_attempts", "cost", "DOUBLE PRECISION"),
    ("pipeline_runs", "rows", "BIGINT"),
    ("pipeline_runs", "cpu", "DOUBLE PRECISION"),
    ("pipeline_runs", "rss", "BIGINT"),
    ("pipeline_runs", "bytes_read", "BIGINT"),
    ("pipeline_runs", "bytes_written", "BIGINT"),
    ("pipeline_runs", "cost", "DOUBLE PRECISION"),
    ("runs", "cpu", "DOUBLE PRECISION"),
    ("runs", "rss", "BIGINT"),
    ("runs", "cost", "DOUBLE PRECISION"),
    ("runs", "currency", "TEXT"),
    ("runs", "resumed", "DOUBLE PRECISION"),
)

#: what makes every lookup a run does cost the same however long the history: the newest runs
#: (``orchestrator runs``), a file's runs by age (retention), the newest unfinished run of a file
#: (``--resume``), and the runs of a file whose checkpoints a success must still retire. The last
#: two are partial: a run leaves them when it succeeds or is retired, so they stay small. (The
#: other tables' primary keys start with ``run_id``: a run's rows are found, and deleted, by it.)
#: The web API pages through runs newest first, by file and by status (keyset pagination on
#: ``started``), finds a pipeline's latest runs, and reads one step's log lines.
INDEXES = (
    "CREATE INDEX IF NOT EXISTS runs_by_started ON runs (started)",
    "CREATE INDEX IF NOT EXISTS runs_by_config ON runs (config, started)",
    "CREATE INDEX IF NOT EXISTS runs_unfinished ON runs (config, started) WHERE status != 'succeeded'",
    "CREATE INDEX IF NOT EXISTS runs_unretired ON runs (config, started) WHERE status != 'succeeded' AND retired IS NULL",
    "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, started)",
    "CREATE INDEX IF NOT EXISTS pipeline_runs_by_pipeline ON pipeline_runs (pipeline, run_id)",
    "CREATE INDEX IF NOT EXISTS step_logs_by_step ON step_logs (run_id, pipeline, step, seq)",
)


def create_or_migrate(cursor: Any, index_names: Callable[[Any], set[str]]) -> None:
    """Create what does not exist yet: the tables, the columns added since, the indexes.

    An index is created only when ``index_names`` (the backend's catalog query) does not list it:
    on PostgreSQL even ``CREATE INDEX IF NOT EXISTS`` of an index that exists waits for a share
    lock on its table, held to the end of this transaction, and a run already recording into
    two of those tables then deadlocks with the store that opens beside it."""
    for table in TABLES:
        cursor.execute(table)
    present: dict[str, set[str]] = {}
    for table, column, kind in ADDED_COLUMNS:
        if table not in present:
            cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
            present[table] = {described[0] for described in cursor.description}
        if column not in present[table]:
            cursor.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    existing = index_names(cursor)
    for index in INDEXES:
        if index.split()[5] not in existing:  # CREATE INDEX IF NOT EXISTS <name> ON ...
            cursor.execute(index)
