"""14: the history must not tax every run. A one-pipeline ``orchestrator run`` (the cold-start
config) with 100,000 earlier runs of the same file in its SQLite history, against the same run
with an empty history, whole processes, interleaved.

The 100,000 runs are written straight into the tables (untimed, a few seconds) after the code under
test created them, each as a real run of the file leaves it: one pipeline, two phases, two step
attempts; one run in a hundred failed (the first, discarded round retires their checkpoints, as
the run after them would have).
"""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.measure import flatten, run_processes
from bench.report import Row, Target

if TYPE_CHECKING:
    from bench.harness import Bench

EARLIER = 100_000


def history_100k(bench: Bench) -> list[Row]:
    root = bench.workspace.root
    commands = {}
    for name, earlier in (("empty history", 0), (f"{EARLIER:,} runs", EARLIER)):
        folder = f"history-{earlier}"
        config = bench.workspace.history_config(folder)
        seed(config, root / folder / "state.db", earlier)
        commands[name] = bench.run(config)
    samples = run_processes(commands, bench.reps(15, 5))
    ours, empty = samples[f"{EARLIER:,} runs"], samples["empty history"]
    note = (
        f"`orchestrator run` of the cold-start config (one pipeline: python.call extract -> python.call load) with "
        f"{EARLIER:,} earlier runs of the same file in its SQLite history (inserted directly, untimed: each with a "
        "pipeline, two phases and two step attempts, 1% failed), against the same run with an empty history "
        "(baseline; both histories grow by the measured runs). Whole processes, interleaved."
    )
    return [
        Row("14", f"one run, {EARLIER:,} runs in the history: time", "s", ours.median_seconds, empty.median_seconds,
            "empty history", Target(1.1, "ratio"), note, flatten(samples)),
        Row("14", f"one run, {EARLIER:,} runs in the history: peak RSS", "MiB", ours.median_rss_mib,
            empty.median_rss_mib, "empty history"),
    ]


def seed(config: Path, database: Path, earlier: int) -> None:
    """A fresh history of ``earlier`` finished runs of ``config``, in the tables as the installed
    code creates them."""
    from orchestrator.runstate.history import open_state

    database.parent.mkdir(parents=True, exist_ok=True)
    for stale in database.parent.glob("state.db*"):
        stale.unlink()
    open_state(f"sqlite:///{database}", database.parent).close()
    source, host = str(config.resolve()), socket.gethostname()
    start = time.time() - earlier * 60.0
    runs, pipelines, phases, steps = [], [], [], []
    for index in range(earlier):
        run_id, began = f"seed-{index:07d}", start + index * 60.0
        status = "failed" if index % 100 == 0 else "succeeded"
        runs.append((run_id, source, "seeded", "{}", status, began, began + 0.05, 0.05, host, 1))
        pipelines.append((run_id, "hello", status, began, began + 0.05, 0.05))
        for offset, (phase, step) in enumerate((("extract", "extract"), ("load", "load"))):
            phases.append((run_id, "hello", phase, status, began + offset * 0.02, began + offset * 0.02 + 0.01, 0.01))
            steps.append((run_id, "hello", phase, step, "python.call", 1, status, began + offset * 0.02,
                          began + offset * 0.02 + 0.01, 0.01, 2))
    with sqlite3.connect(database) as db:
        db.executemany("INSERT INTO runs (run_id, config, config_hash, params, status, started, finished, elapsed, host, pid) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
        db.executemany("INSERT INTO pipeline_runs (run_id, pipeline, status, started, finished, elapsed) "
                       "VALUES (?, ?, ?, ?, ?, ?)", pipelines)
        db.executemany("INSERT INTO phase_runs (run_id, pipeline, phase, status, started, finished, elapsed) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", phases)
        db.executemany("INSERT INTO step_attempts (run_id, pipeline, phase, step, plugin, attempt, status, started, "
                       "finished, elapsed, rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", steps)
