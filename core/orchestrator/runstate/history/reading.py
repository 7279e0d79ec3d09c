"""Reading the history back: recent runs, one run's pipelines, phases and steps, what ``--resume``
continues, and the queries retention deletes by."""

from __future__ import annotations

import time
from typing import Any

from orchestrator.runstate.history.store import SQLStore
from orchestrator.runstate.progress import Progress


class Reading(SQLStore):
    """Answers what earlier runs did."""

    def runs(self, limit: int, config: str | None = None) -> list[dict[str, Any]]:
        """The latest runs (of pipeline file ``config`` only, when given), newest first, with how
        many pipelines each had and how many of them did not succeed."""
        only = "WHERE r.config = ? " if config is not None else ""
        return self._query(
            "SELECT r.run_id, r.status, r.started, r.elapsed, r.config, r.host, r.pid, "
            "(SELECT COUNT(*) FROM pipeline_runs p WHERE p.run_id = r.run_id) AS pipelines, "
            "(SELECT COUNT(*) FROM pipeline_runs p WHERE p.run_id = r.run_id AND p.status != 'succeeded') AS not_succeeded "
            f"FROM runs r {only}ORDER BY r.started DESC LIMIT ?",
            *([config] if config is not None else []),
            limit,
        )

    def run_page(
        self, configs: list[str], limit: int, *, before: tuple[float, str] | None = None, status: str | None = None,
        pipeline: str | None = None,
    ) -> list[dict[str, Any]]:
        """One page of the runs of these pipeline files, newest first: every column but the
        config's text, with how many pipelines each had and how many did not succeed. ``before``
        is the (started, run_id) of the last run of the previous page: keyset pagination, so a
        page costs the same however deep in a long history it is."""
        if not configs:
            return []
        where = [f"r.config IN ({', '.join('?' * len(configs))})"]
        values: list[Any] = list(configs)
        if before is not None:
            where.append("r.started <= ? AND (r.started < ? OR r.run_id < ?)")
            values += [before[0], before[0], before[1]]
        if status is not None:
            where.append("r.status = ?")
            values.append(status)
        if pipeline is not None:
            where.append("EXISTS (SELECT 1 FROM pipeline_runs q WHERE q.run_id = r.run_id AND q.pipeline = ?)")
            values.append(pipeline)
        rows = self._query(
            f"SELECT r.* FROM runs r WHERE {' AND '.join(where)} ORDER BY r.started DESC, r.run_id DESC LIMIT ?",
            *values, limit,
        )
        for row in rows:
            row.pop("config_text", None)
            counted = self._query(
                "SELECT COUNT(*) AS pipelines, COUNT(CASE WHEN status != 'succeeded' THEN 1 END) AS not_succeeded "
                "FROM pipeline_runs WHERE run_id = ?", row["run_id"],
            )[0]
            row["pipelines"], row["not_succeeded"] = counted["pipelines"], counted["not_succeeded"]
        return rows

    def pipeline_latest(self, config: str, pipeline: str, limit: int) -> list[dict[str, Any]]:
        """How a pipeline of a file ended in its latest ``limit`` runs, newest first."""
        return self._query(
            "SELECT r.run_id, p.status, COALESCE(p.started, r.started) AS started, p.elapsed FROM runs r "
            "JOIN pipeline_runs p ON p.run_id = r.run_id AND p.pipeline = ? WHERE r.config = ? "
            "ORDER BY r.started DESC LIMIT ?",
            pipeline, config, limit,
        )

    def logs(
        self, run_id: str, *, pipeline: str | None = None, step: str | None = None, after: int = 0, limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """A run's log lines after line ``after`` (their ``seq``), in the order they were logged."""
        where, values = ["run_id = ?", "seq > ?"], [run_id, after]
        if pipeline is not None:
            where.append("pipeline = ?")
            values.append(pipeline)
        if step is not None:
            where.append("step = ?")
            values.append(step)
        return self._query(f"SELECT * FROM step_logs WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?", *values, limit)

    def last_logs(self, run_id: str, limit: int) -> list[dict[str, Any]]:
        """A run's last ``limit`` log lines, oldest first."""
        return self._query(
            "SELECT * FROM (SELECT * FROM step_logs WHERE run_id = ? ORDER BY seq DESC LIMIT ?) newest ORDER BY seq", run_id, limit
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        found = self._query("SELECT * FROM runs WHERE run_id = ?", run_id)
        return found[0] if found else None

    def pipelines(self, run_id: str, pipeline: str | None = None) -> list[dict[str, Any]]:
        if pipeline is not None:
            return self._query("SELECT * FROM pipeline_runs WHERE run_id = ? AND pipeline = ?", run_id, pipeline)
        return self._query("SELECT * FROM pipeline_runs WHERE run_id = ? ORDER BY started IS NULL, started, pipeline", run_id)

    def steps(self, run_id: str, pipeline: str | None = None) -> list[dict[str, Any]]:
        """A run's step attempts (of one ``pipeline`` only, when given: its key's prefix)."""
        if pipeline is not None:
            return self._query("SELECT * FROM step_attempts WHERE run_id = ? AND pipeline = ? ORDER BY started, attempt", run_id, pipeline)
        return self._query("SELECT * FROM step_attempts WHERE run_id = ? ORDER BY started, attempt", run_id)

    def phases(self, run_id: str, pipeline: str | None = None) -> list[dict[str, Any]]:
        if pipeline is not None:
            return self._query("SELECT * FROM phase_runs WHERE run_id = ? AND pipeline = ? ORDER BY started", run_id, pipeline)
        return self._query("SELECT * FROM phase_runs WHERE run_id = ? ORDER BY started, pipeline", run_id)

    def step_counts(self, run_id: str) -> dict[str, int]:
        """How many steps each pipeline of a run has started (retries not counted again)."""
        rows = self._query("SELECT pipeline, COUNT(DISTINCT step) AS steps FROM step_attempts WHERE run_id = ? GROUP BY pipeline", run_id)
        return {row["pipeline"]: int(row["steps"]) for row in rows}

    def latest_unfinished(self, config: str) -> dict[str, Any] | None:
        """The newest run of this config file that did not succeed: what ``--resume`` continues."""
        found = self._query(
            "SELECT * FROM runs WHERE config = ? AND status != 'succeeded' ORDER BY started DESC LIMIT 1", config
        )
        return found[0] if found else None

    def newer_success(self, config: str, started: float) -> dict[str, Any] | None:
        """The newest run of this config file that succeeded after ``started``, if any."""
        found = self._query(
            "SELECT * FROM runs WHERE config = ? AND status = 'succeeded' AND started > ? ORDER BY started DESC LIMIT 1",
            config, started,
        )
        return found[0] if found else None

    def unretired_before(self, config: str, run_id: str) -> list[dict[str, Any]]:
        """The runs of this config file, started before run ``run_id``, that did not succeed and
        whose checkpoints no later success retired yet: the only ones that may still hold some
        (a run that succeeds removes its own). Retired runs leave the index this reads."""
        return self._query(
            "SELECT run_id, status, host, pid FROM runs WHERE config = ? AND status != 'succeeded' AND retired IS NULL "
            "AND started < (SELECT started FROM runs WHERE run_id = ?)",
            config, run_id,
        )

    def retire(self, run_ids: list[str]) -> None:
        """Note that these runs' checkpoints are gone: no later run looks at them again."""
        now = time.time()
        for run_id in run_ids:
            self._write("UPDATE runs SET retired = ? WHERE run_id = ?", (now, run_id))
        self.flush()

    # -- retention ------------------------------------------------------------------------------

    def configs(self) -> list[str]:
        """Every pipeline file with runs in this store."""
        return [row["config"] for row in self._query("SELECT DISTINCT config FROM runs ORDER BY config")]

    def runs_before(self, config: str, started: float) -> list[dict[str, Any]]:
        """The runs of this config file that started before ``started``, oldest first."""
        return self._query(
            "SELECT run_id, config, status, started, host, pid FROM runs WHERE config = ? AND started < ? ORDER BY started",
            config, started,
        )

    def nth_newest_start(self, config: str, n: int) -> float | None:
        """When the ``n``-th newest run of this config file started (None with fewer runs)."""
        found = self._query("SELECT started FROM runs WHERE config = ? ORDER BY started DESC LIMIT 1 OFFSET ?", config, n - 1)
        return found[0]["started"] if found else None

    def delete_runs(self, runs: list[dict[str, Any]]) -> list[str]:
        """Delete these runs with their pipelines, phases, step attempts and log lines, in one transaction.
        A run whose status or process changed since it was read (resumed in the meantime) is kept:
        the delete says what it expects, and the database decides. Returns the ids deleted."""
        deleted: list[str] = []
        with self.lock, self._transaction() as cursor:
            for run in runs:
                cursor.execute(
                    self._sql("DELETE FROM runs WHERE run_id = ? AND status = ? AND COALESCE(pid, -1) = ? RETURNING run_id"),
                    (run["run_id"], run["status"], -1 if run["pid"] is None else run["pid"]),
                )
                deleted += [row[0] for row in cursor.fetchall()]
            if deleted:
                for table in ("pipeline_runs", "phase_runs", "step_attempts", "step_logs"):
                    cursor.executemany(self._sql(f"DELETE FROM {table} WHERE run_id = ?"), [(run_id,) for run_id in deleted])
        return deleted

    def progress(self, run_id: str) -> Progress:
        """What a recorded run completed: its succeeded pipelines, and the succeeded steps (with
        their rows) of the others."""
        self.flush()
        pipelines = {row["pipeline"] for row in self._query(
            "SELECT pipeline FROM pipeline_runs WHERE run_id = ? AND status = 'succeeded'", run_id
        )}
        steps: dict[str, dict[str, int | None]] = {}
        for row in self._query(
            "SELECT pipeline, step, rows FROM step_attempts WHERE run_id = ? AND status = 'succeeded'", run_id
        ):
            if row["pipeline"] not in pipelines:
                steps.setdefault(row["pipeline"], {})[row["step"]] = row["rows"]
        return Progress(frozenset(pipelines), steps)

