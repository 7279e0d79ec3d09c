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
#: pipeline file as it was run, redacted (NULL for runs recorded before it was kept).
ADDED_COLUMNS = (
    ("step_attempts", "rejected", "BIGINT"),
    ("step_attempts", "rows_in", "BIGINT"),
    ("runs", "host", "TEXT"),
    ("runs", "pid", "INTEGER"),
    ("runs", "retired", "DOUBLE PRECISION"),
    ("runs", "config_text", "TEXT"),
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


def create_or_migrate(cursor: Any) -> None:
    """Create what does not exist yet: the tables, the columns added since, the indexes."""
    for table in TABLES:
        cursor.execute(table)
    for table, column, kind in ADDED_COLUMNS:
        cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        if column not in {described[0] for described in cursor.description}:
            cursor.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    for index in INDEXES:
        cursor.execute(index)
