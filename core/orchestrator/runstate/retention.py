"""Retention: which runs of a pipeline file leave the history, and removing them with their
checkpoints and dead letters. ``history:`` in the config applies it at the end of every run of the
file; ``orchestrator runs prune`` whenever asked.

A run goes when it started more than ``keep_days`` ago, or before the file's newest ``keep_runs``
runs. Two kinds stay whatever the limits say, because removing them could lose work:

- a run recorded as running whose process may still run (its rows and files are in use);
- a run that ``orchestrator run --resume RUN_ID`` can still continue (it did not succeed, and no
  later run of the file did), unless it is older than ``keep_days``: a count limit alone never
  takes it.

The rows of a batch of runs are deleted in one transaction that re-checks each run's status and
process, so a run resumed while the prune decided is kept; the files go once the rows are gone.
The work is what the limits select, found through an index: a run that prunes as it ends pays for
the runs it removes, not for the history it keeps.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.config.model import Retention
    from orchestrator.runstate.history.sql import SQLState

DAY = 86_400.0
#: runs deleted per transaction: a first prune of a long history never holds the store's write
#: lock (which runs recording at the same time wait for) for long
BATCH = 500


def expired(
    store: SQLState, config: str, limits: Retention, *, now: float | None = None, spare: str | None = None
) -> list[dict[str, Any]]:
    """The runs of ``config`` that the limits remove (oldest first), without those that stay and
    without run ``spare`` (the run that is ending: a later-started run may already have finished)."""
    now = time.time() if now is None else now
    age_limit = None if limits.keep_days is None else now - limits.keep_days * DAY
    bounds = [] if age_limit is None else [age_limit]
    if limits.keep_runs is not None:
        nth = store.nth_newest_start(config, limits.keep_runs)
        if nth is not None:
            bounds.append(nth)
    if not bounds:
        return []
    found = store.runs_before(config, max(bounds))
    if not found:
        return []
    from orchestrator.runstate.resume import process_may_run

    success = store.newer_success(config, float("-inf"))
    last_success = float("-inf") if success is None else success["started"]

    def stays(run: dict[str, Any]) -> bool:
        if run["run_id"] == spare or (run["status"] == "running" and process_may_run(run)):
            return True
        resumable = run["status"] != "succeeded" and run["started"] > last_success
        return resumable and (age_limit is None or run["started"] >= age_limit)

    return [run for run in found if not stays(run)]


def prune(
    store: SQLState, config: str, limits: Retention, *, now: float | None = None, spare: str | None = None
) -> list[dict[str, Any]]:
    """Remove the runs of ``config`` the limits select (see :func:`expired`), with their
    checkpoints, dead letters and the rows their pipelines handed over; returns the runs removed
    (a run that changed meanwhile is not among them)."""
    from orchestrator.runstate.history.sqlite import SQLiteState
    from orchestrator.runstate.layout import (
        CHECKPOINTS,
        DEAD_LETTERS,
        handoff_run_folder,
        recorded_state_directory,
        run_folder,
        valid_run_id,
    )

    chosen = expired(store, config, limits, now=now, spare=spare)
    folder = recorded_state_directory(store.path if isinstance(store, SQLiteState) else None, config)
    removed: list[dict[str, Any]] = []
    for start in range(0, len(chosen), BATCH):
        batch = chosen[start:start + BATCH]
        deleted = set(store.delete_runs(batch))
        for run in batch:
            if run["run_id"] in deleted:
                if valid_run_id(run["run_id"]):  # an id that is not one has no folder (it could name another)
                    for kept in (CHECKPOINTS, DEAD_LETTERS):
                        shutil.rmtree(run_folder(folder / kept, run["run_id"]), ignore_errors=True)
                    shutil.rmtree(handoff_run_folder(Path(config).parent, run["run_id"]), ignore_errors=True)
                removed.append(run)
    return removed
