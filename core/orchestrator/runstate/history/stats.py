"""Per-pipeline statistics over the history (``orchestrator runs stats``): how often a pipeline
ran and succeeded, how long it takes (percentiles), what it used and cost, and whether it is
getting slower.

It stays fast on a long history: counts, sums, means and maxima are aggregated by the database in
one grouped query over the runs the filter selects (found by the ``runs (config, started)``
index); the percentiles and the trend need the durations themselves, read for the pipelines of the
newest :data:`SAMPLE` runs at most (a bounded read, found by the same indexes).
"""

from __future__ import annotations

import statistics
from typing import Any

from orchestrator.runstate.history.store import SQLStore

#: the percentiles and the trend are of the durations of (at most) this many newest runs
SAMPLE = 20_000
#: the trend compares the median of a pipeline's latest this-many succeeded runs with the median
#: of the as many before them (fewer when it has fewer than twice as many runs, at least 3 each)
TREND_RUNS = 20
#: the percentiles shown, of the durations of succeeded runs
PERCENTILES = (50, 90, 99)


class Stats(SQLStore):
    """Answers how each pipeline has been doing."""

    def pipeline_stats(self, config: str | None = None, pipeline: str | None = None, since: float | None = None) -> list[dict[str, Any]]:
        """One entry per (config file, pipeline) with runs that started at or after ``since``
        (of ``config`` and ``pipeline`` only, when given), by file and pipeline name. Durations
        (``p50``, ``p90``, ``p99``, ``max``, ``trend``) are of the succeeded runs: a failed run's
        duration says when it failed, not how long the pipeline takes."""
        runs, run_values = _conditions((("r.config = ?", config), ("r.started >= ?", since)))
        pipelines, pipeline_values = _conditions((("p.pipeline = ?", pipeline),))
        totals = self._query(
            "SELECT r.config, p.pipeline, COUNT(*) AS runs, "
            "SUM(CASE WHEN p.status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded, "
            "MAX(CASE WHEN p.status = 'succeeded' THEN p.elapsed END) AS longest, AVG(p.cpu) AS mean_cpu, "
            "MAX(p.rss) AS peak_rss, CAST(SUM(p.rows) AS BIGINT) AS rows, SUM(p.cost) AS cost, MAX(r.currency) AS currency, "
            "MAX(r.started) AS latest "
            f"FROM runs r JOIN pipeline_runs p ON p.run_id = r.run_id WHERE {runs} AND {pipelines} "
            "AND p.status NOT IN ('running', 'waiting') GROUP BY r.config, p.pipeline ORDER BY r.config, p.pipeline",
            *run_values, *pipeline_values,
        )
        durations: dict[tuple[str, str], list[float]] = {}
        for row in self._query(
            # the newest runs first, by the runs' index, then their pipelines by the primary key
            f"SELECT r.config, p.pipeline, p.elapsed FROM (SELECT run_id, config, started FROM runs r WHERE {runs} "
            "ORDER BY started DESC LIMIT ?) r JOIN pipeline_runs p ON p.run_id = r.run_id "
            f"WHERE {pipelines} AND p.status = 'succeeded' AND p.elapsed IS NOT NULL ORDER BY r.started DESC",
            *run_values, SAMPLE, *pipeline_values,
        ):
            durations.setdefault((row["config"], row["pipeline"]), []).append(row["elapsed"])
        for entry in totals:
            newest_first = durations.get((entry["config"], entry["pipeline"]), [])
            entry["success_rate"] = entry["succeeded"] / entry["runs"] if entry["runs"] else None
            entry.update(_percentiles(sorted(newest_first)))
            entry["max"] = entry.pop("longest")
            entry["trend"] = trend(newest_first)
        return totals


def _conditions(pairs: tuple[tuple[str, Any], ...]) -> tuple[str, list[Any]]:
    """``pairs`` (condition, value) joined with AND, those whose value is None left out."""
    chosen = [(condition, value) for condition, value in pairs if value is not None]
    return " AND ".join(["1 = 1", *(condition for condition, _ in chosen)]), [value for _, value in chosen]


def _percentiles(ordered: list[float]) -> dict[str, float | None]:
    """The nearest-rank percentiles of ``ordered`` (None each when it is empty)."""
    return {f"p{p}": ordered[max(0, -(-p * len(ordered) // 100) - 1)] if ordered else None for p in PERCENTILES}


def trend(newest_first: list[float]) -> float | None:
    """How much slower (positive) or faster the latest runs are: the median of the latest
    :data:`TREND_RUNS` durations over the median of the as many before them, minus 1. None with
    fewer than 6 durations, or when the earlier median is 0."""
    n = min(TREND_RUNS, len(newest_first) // 2)
    if n < 3:
        return None
    before = statistics.median(newest_first[n : 2 * n])
    return None if before == 0 else statistics.median(newest_first[:n]) / before - 1
