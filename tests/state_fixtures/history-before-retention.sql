-- A run history as the version before retention created it (no runs.retired, no indexes), with
-- three runs of CONFIG (an old failed one whose checkpoints are still on disk, a newer failed
-- one, a success) and one of OTHER. Portable between SQLite and PostgreSQL.
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, config TEXT NOT NULL, config_hash TEXT NOT NULL, params TEXT NOT NULL,
    status TEXT NOT NULL, started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION, elapsed DOUBLE PRECISION,
    host TEXT, pid INTEGER
);
CREATE TABLE pipeline_runs (
    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,
    started DOUBLE PRECISION, finished DOUBLE PRECISION, elapsed DOUBLE PRECISION, error TEXT,
    PRIMARY KEY (run_id, pipeline)
);
CREATE TABLE step_attempts (
    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, phase TEXT NOT NULL, step TEXT NOT NULL, plugin TEXT NOT NULL,
    attempt INTEGER NOT NULL, status TEXT NOT NULL, started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION,
    elapsed DOUBLE PRECISION, rows BIGINT, error TEXT, rejected BIGINT, rows_in BIGINT,
    PRIMARY KEY (run_id, pipeline, step, attempt)
);
CREATE TABLE phase_runs (
    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, phase TEXT NOT NULL, status TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION, elapsed DOUBLE PRECISION,
    PRIMARY KEY (run_id, pipeline, phase)
);
INSERT INTO runs VALUES ('old-failed', 'CONFIG', 'h', '{}', 'failed', 1000.0, 1001.0, 1.0, 'gone-host', 1);
INSERT INTO runs VALUES ('new-failed', 'CONFIG', 'h', '{}', 'failed', 2000.0, 2001.0, 1.0, 'gone-host', 1);
INSERT INTO runs VALUES ('succeeded', 'CONFIG', 'h', '{}', 'succeeded', 3000.0, 3001.0, 1.0, 'gone-host', 1);
INSERT INTO runs VALUES ('other', 'OTHER', 'h', '{}', 'failed', 500.0, 501.0, 1.0, 'gone-host', 1);
INSERT INTO pipeline_runs VALUES ('old-failed', 'p', 'failed', 1, 1000.0, 1001.0, 1.0, 'boom');
INSERT INTO pipeline_runs VALUES ('succeeded', 'p', 'succeeded', 1, 3000.0, 3001.0, 1.0, NULL);
INSERT INTO step_attempts VALUES ('old-failed', 'p', 'extract', 'src', 'python.call', 1, 'succeeded', 1000.0, 1000.5, 0.5, 2, NULL, NULL, NULL);
INSERT INTO phase_runs VALUES ('old-failed', 'p', 'extract', 'succeeded', 1000.0, 1000.5, 0.5);
