"""The history's tables and indexes, and how a database an older version created is brought up
to date: every store runs :func:`create_or_migrate` when it opens, in one transaction.

Only additions are ever made (a column, an index), so an older version can still read and write a
database a newer one migrated, and two versions can share one store.
"""

from __future__ import annotations

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
)

#: columns added since the tables were first released: (table, column, type), added to a
#: database an older version created. ``runs.retired`` is when a later success of the same file
#: removed the run's checkpoints (NULL while it may still hold some). What the work used
#: (:data:`USAGE_COLUMNS`, from the events' fields of the same names), a pipeline's ``rows`` and
#: the ``currency`` of the run's costs: see ``docs/monitoring.md``.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("step_attempts", "rejected", "BIGINT"),
    ("step_attempts", "rows_in", "BIGINT"),
    ("runs", "host", "TEXT"),
    ("runs", "pid", "INTEGER"),
    ("runs", "retired", "DOUBLE PRECISION"),
)
#: CPU seconds, peak RSS in bytes, bytes read and written, estimated cost
USAGE_COLUMNS = (("cpu", "DOUBLE PRECISION"), ("rss", "BIGINT"), ("bytes_read", "BIGINT"), ("bytes_written", "BIGINT"),
                 ("cost", "DOUBLE PRECISION"))
ADDED_COLUMNS += (
    *(("step_attempts", column, kind) for column, kind in USAGE_COLUMNS),
    *(("pipeline_runs", column, kind) for column, kind in (("rows", "BIGINT"), *USAGE_COLUMNS)),
    *(("runs", column, kind) for column, kind in (*USAGE_COLUMNS, ("currency", "TEXT"))),
)

#: what makes every lookup a run does cost the same however long the history: the newest runs
#: (``orchestrator runs``), a file's runs by age (retention), the newest unfinished run of a file
#: (``--resume``), and the runs of a file whose checkpoints a success must still retire. The last
#: two are partial: a run leaves them when it succeeds or is retired, so they stay small. (The
#: other tables' primary keys start with ``run_id``: a run's rows are found, and deleted, by it.)
INDEXES = (
    "CREATE INDEX IF NOT EXISTS runs_by_started ON runs (started)",
    "CREATE INDEX IF NOT EXISTS runs_by_config ON runs (config, started)",
    "CREATE INDEX IF NOT EXISTS runs_unfinished ON runs (config, started) WHERE status != 'succeeded'",
    "CREATE INDEX IF NOT EXISTS runs_unretired ON runs (config, started) WHERE status != 'succeeded' AND retired IS NULL",
)


def create_or_migrate(cursor: Any) -> None:
    """Create what does not exist yet: the tables, the columns added since, the indexes."""
    for table in TABLES:
        cursor.execute(table)
    present: dict[str, set[str]] = {}
    for table, column, kind in ADDED_COLUMNS:
        if table not in present:
            cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
            present[table] = {described[0] for described in cursor.description}
        if column not in present[table]:
            cursor.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    for index in INDEXES:
        cursor.execute(index)
