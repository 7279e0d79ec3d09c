"""``orchestrator runs prune``: remove old runs from the history now, with their checkpoints and
dead letters, by ``--keep-days``/``--keep-runs`` or else by the ``history:`` setting of ``--config``'s
file. Without ``--config`` every pipeline file in the store is pruned, each by the same limits.
What stays whatever the limits say, and why, is :mod:`orchestrator.retention`'s to decide."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from orchestrator.history import HistoryError, history_store
from orchestrator.model import Retention


def prune_history(
    config: str | None, state: str | None, keep_days: int | None, keep_runs: int | None, *, dry_run: bool,
    as_json: bool, load_plugins: Callable[[], Any], load_plan: Callable[..., Any],
) -> str:
    """Prune (or, ``dry_run``, list what would go) and say what was removed."""
    from orchestrator.retention import expired, prune

    plan = load_plan(config, (), load_plugins()) if config else None
    limits = Retention(keep_days, keep_runs) if keep_days or keep_runs else plan.history if plan else None
    if limits is None:
        where = f"; {config} has no history: setting" if config else ""
        raise HistoryError(f"say how much to keep: --keep-days N, --keep-runs N, or --config FILE with a history: setting{where}")
    store = history_store(config, state, (lambda: None) if plan else None, lambda *_: plan)
    try:
        configs = [str(plan.source.resolve())] if plan else store.configs()
        removed = {name: (expired if dry_run else prune)(store, name, limits) for name in configs}
    finally:
        store.close()
    if as_json:
        runs = [{key: run[key] for key in ("run_id", "config", "status", "started")} for found in removed.values() for run in found]
        return json.dumps({"dry_run": dry_run, "runs": runs}, indent=2) + "\n"
    lines = []
    for name, runs in removed.items():
        if not runs:
            continue
        count = f"{len(runs)} run{'' if len(runs) == 1 else 's'} of {name}"
        if dry_run:
            lines.append(f"would remove {count}:")
            lines += [f"  {run['run_id']}  {run['status']}  {_when(run['started'])}" for run in runs]
        else:
            lines.append(f"removed {count}, with {'its' if len(runs) == 1 else 'their'} checkpoints and dead letters")
    return "\n".join(lines or ["nothing to remove"]) + "\n"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
