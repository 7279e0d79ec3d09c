"""The run history must not tax every run: what a run asks of the history store at its start and
end is the same work with 100 earlier runs of its file as with thousands.

Work is counted, not timed: SQLite calls a progress handler every virtual-machine instruction, so
the instructions a query executes say how many rows it read, whatever the machine's load.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.config.model import Retention
from orchestrator.runstate.resume import forget_earlier_checkpoints
from orchestrator.runstate.retention import expired
from orchestrator.runstate.history import open_state
from orchestrator.runstate.history.sqlite import SQLiteState

CONFIG = "/srv/pipelines/nightly.yaml"
OTHER = "/srv/pipelines/other.yaml"


def seed(database: Path, earlier: int, *, every_failed: int = 10) -> str:
    """``earlier`` finished runs of CONFIG (every ``every_failed``-th failed) and as many of
    another file, written straight into the tables, then one succeeded run of CONFIG, the newest:
    its id is returned."""
    store = open_state(f"sqlite:///{database}", database.parent)
    store.close()
    start = time.time() - 10 * earlier
    rows = []
    for index in range(earlier):
        status = "failed" if index % every_failed == 0 else "succeeded"
        for config in (CONFIG, OTHER):
            run_id = f"{index:08d}-{'a' if config == CONFIG else 'b'}"
            rows.append((run_id, config, "hash", "{}", status, start + 10 * index, start + 10 * index + 1, 1.0))
    rows.append(("zz-newest", CONFIG, "hash", "{}", "succeeded", time.time(), time.time() + 1, 1.0))
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO runs (run_id, config, config_hash, params, status, started, finished, elapsed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows,
        )
    return "zz-newest"


def instructions(store: SQLiteState, work: Callable[[], object]) -> int:
    """How many SQLite virtual-machine instructions ``work`` executes on the store's connection."""
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        return 0

    store.db.set_progress_handler(tick, 1)
    try:
        work()
    finally:
        store.db.set_progress_handler(None, 1)
    return count


def per_run_work(tmp_path: Path, earlier: int) -> int:
    """What the end of a succeeded run and the lookups of the next one cost in the store, with
    ``earlier`` runs of the file in the history (a first pass retires what it finds, as the run
    before would have; the second is what every later run pays)."""
    database = tmp_path / f"history-{earlier}" / "state.db"
    newest = seed(database, earlier)
    folder = database.parent / "checkpoints"
    store = open_state(f"sqlite:///{database}", database.parent)
    assert isinstance(store, SQLiteState)
    try:
        forget_earlier_checkpoints(store, CONFIG, newest, folder)

        def one_run() -> None:
            forget_earlier_checkpoints(store, CONFIG, newest, folder)
            store.latest_unfinished(CONFIG)
            store.newer_success(CONFIG, 0.0)
            store.runs(20)
            expired(store, CONFIG, Retention(keep_days=30))  # what history: looks at as a run ends

        return instructions(store, one_run)
    finally:
        store.close()


def test_the_work_a_run_asks_of_the_history_does_not_grow_with_it(tmp_path: Path) -> None:
    small, large = per_run_work(tmp_path, 100), per_run_work(tmp_path, 5_000)
    assert large < 1.2 * small + 200, f"100 earlier runs: {small} instructions, 5,000: {large}"
