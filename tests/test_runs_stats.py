"""``orchestrator runs stats``: per-pipeline counts, success rate, duration percentiles, usage,
cost and trend, over a real SQLite history (one real run creates it; earlier runs are added to its
tables as a run leaves them, with durations chosen so every figure is known)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import cli

CONFIG = """
cost: {currency: EUR, cpu_hour: 1}
pipelines:
  copy:
    type: ETL
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: rows.csv}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/rows.jsonl}}]}
"""

DAY = 86400.0


def _history(write_config) -> tuple[Path, Path]:
    config = write_config(CONFIG, **{"rows.csv": "id\n1\n"})
    done = cli("run", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    return config, config.parent / ".orchestrator" / "state.db"


def _add(database: Path, config: Path, pipeline: str, durations: list[float], *, days_ago: float = 1.0,
         failed: int = 0) -> None:
    """Runs of ``pipeline``, oldest first, one a minute, ending ``days_ago`` days ago; the first
    ``failed`` of them failed."""
    start = time.time() - days_ago * DAY - len(durations) * 60
    with sqlite3.connect(database) as db:
        for index, elapsed in enumerate(durations):
            run_id, began = f"seed-{pipeline}-{days_ago}-{index:04d}", start + index * 60
            status = "failed" if index < failed else "succeeded"
            db.execute(
                "INSERT INTO runs (run_id, config, config_hash, params, status, started, finished, elapsed, cpu, rss, cost, "
                "currency) VALUES (?, ?, 'seeded', '{}', ?, ?, ?, ?, 0.5, 1000, 0.25, 'EUR')",
                (run_id, str(config.resolve()), status, began, began + elapsed, elapsed),
            )
            db.execute(
                "INSERT INTO pipeline_runs (run_id, pipeline, status, started, finished, elapsed, rows, cpu, rss, cost) "
                "VALUES (?, ?, ?, ?, ?, ?, 10, ?, ?, 0.25)",
                (run_id, pipeline, status, began, began + elapsed, elapsed, 0.1 * (index + 1), 1000 * (index + 1)),
            )


def _stats(*args: str) -> list[dict[str, Any]]:
    done = cli("runs", "stats", *args, "--json")
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_percentiles_success_rate_totals_and_trend(write_config) -> None:
    config, database = _history(write_config)
    # 100 runs: 10 failed, then 70 taking 1 to 70 s, then 20 taking 140 to 178 s (the nearest-rank
    # percentiles of the 90 succeeded ones are the 45th, 81st and 90th)
    durations = [1000.0] * 10 + [float(n) for n in range(1, 71)] + [140.0 + 2 * n for n in range(20)]
    _add(database, config, "nightly", durations, failed=10)
    (nightly,) = [entry for entry in _stats(str(config)) if entry["pipeline"] == "nightly"]
    succeeded = sorted(durations[10:])
    assert (nightly["runs"], nightly["succeeded"], nightly["success_rate"]) == (100, 90, 0.9)
    assert nightly["p50"] == succeeded[44] and nightly["p90"] == succeeded[80] and nightly["p99"] == succeeded[89]
    assert nightly["max"] == max(succeeded), "a failed run's duration is not the pipeline's"
    assert nightly["mean_cpu"] == pytest.approx(sum(0.1 * (i + 1) for i in range(100)) / 100)
    assert nightly["peak_rss"] == 100_000
    assert (nightly["rows"], nightly["cost"], nightly["currency"]) == (1000, pytest.approx(25.0), "EUR")
    latest, before = [140.0 + 2 * n for n in range(20)], [float(n) for n in range(51, 71)]
    expected = (sorted(latest)[9] + sorted(latest)[10]) / 2 / ((before[9] + before[10]) / 2) - 1
    assert nightly["trend"] == pytest.approx(expected)

    text = cli("runs", "stats", str(config)).stdout
    header, *rows = text.splitlines()
    assert header.split() == ["pipeline", "runs", "success", "p50", "p90", "p99", "max", "mean", "cpu", "peak", "rss",
                              "rows", "cost", "trend"]
    (row,) = [line.split() for line in rows if line.startswith("nightly ")]
    assert row[1:4] == ["100", "90%", f"{succeeded[44]:.2f}s"]
    assert row[-1] == f"{expected:+.0%}" and row[-1].startswith("+")


def test_pipeline_and_since_select_the_runs(write_config) -> None:
    config, database = _history(write_config)
    _add(database, config, "nightly", [10.0] * 5, days_ago=30)
    _add(database, config, "nightly", [20.0] * 5, days_ago=1)
    _add(database, config, "hourly", [1.0] * 8, days_ago=1)
    everything = {entry["pipeline"]: entry["runs"] for entry in _stats(str(config))}
    assert everything == {"copy": 1, "hourly": 8, "nightly": 10}
    (recent,) = _stats(str(config), "--pipeline", "nightly", "--since", "7d")
    assert (recent["runs"], recent["p50"], recent["trend"]) == (5, 20.0, None), "fewer than 6 runs: no trend"
    # the same with --config, and for the whole store of the current folder
    assert _stats("--config", str(config), "--since", "2w") == _stats(str(config), "--since", "14d")
    done = cli("runs", "stats", "--json", cwd=config.parent)
    assert {entry["pipeline"] for entry in json.loads(done.stdout)} == {"copy", "hourly", "nightly"}


def test_a_history_without_matching_runs_says_so(write_config) -> None:
    config, _ = _history(write_config)
    done = cli("runs", "stats", str(config), "--pipeline", "nowhere")
    assert (done.returncode, done.stdout) == (0, "no finished pipeline runs match\n")
