"""``orchestrator runs``: what ran, how long, how many rows, what failed and why."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.model import DEFAULT_STATE


class HistoryError(OrchestratorError):
    """The history cannot be shown; the message says why and what to do."""


def history_path(
    config: str | None, state: str | None, load_plugins: Callable[[], Any] | None, load_plan: Callable[..., Any]
) -> Path:
    """The state database: ``--state``, else the one ``--config``'s file names, else the default
    location in the current directory."""
    if state:
        path = Path(state)
    elif config and load_plugins is not None:
        plan = load_plan(config, (), load_plugins())
        if plan.state == "off":
            raise HistoryError(f"{config} says 'state: off': its runs are not recorded")
        path = plan.base_dir / plan.state.removeprefix("sqlite:///")
    else:
        path = Path(DEFAULT_STATE.removeprefix("sqlite:///"))
    if not path.is_file():
        raise HistoryError(f"no run history at {path}; run a pipeline first, or pass --config PIPELINE.yaml or --state PATH")
    return path


def _rows(path: Path, query: str, *values: Any) -> list[dict[str, Any]]:
    from orchestrator.state import open_history

    with open_history(path) as db:
        return [dict(row) for row in db.execute(query, values)]


def list_runs(path: Path, limit: int, *, as_json: bool) -> str:
    runs = _rows(
        path,
        "SELECT r.run_id, r.status, r.started, r.elapsed, r.config, "
        "(SELECT COUNT(*) FROM pipeline_runs p WHERE p.run_id = r.run_id) AS pipelines, "
        "(SELECT COUNT(*) FROM pipeline_runs p WHERE p.run_id = r.run_id AND p.status != 'succeeded') AS not_succeeded "
        "FROM runs r ORDER BY r.started DESC LIMIT ?",
        limit,
    )
    if as_json:
        return json.dumps(runs, indent=2) + "\n"
    table = [("run", "status", "started", "elapsed", "pipelines", "config")]
    for run in runs:
        pipelines = f"{run['pipelines']}" + (f" ({run['not_succeeded']} not succeeded)" if run["not_succeeded"] else "")
        table.append((run["run_id"], run["status"], _when(run["started"]), _seconds(run["elapsed"]), pipelines, run["config"]))
    return _render(table)


def show_run(path: Path, run_id: str, *, as_json: bool) -> str:
    runs = _rows(path, "SELECT * FROM runs WHERE run_id = ?", run_id)
    if not runs:
        raise HistoryError(f"no run {run_id!r} in {path}; 'orchestrator runs' lists the recorded ones")
    pipelines = _rows(path, "SELECT * FROM pipeline_runs WHERE run_id = ? ORDER BY started", run_id)
    steps = _rows(path, "SELECT * FROM step_attempts WHERE run_id = ? ORDER BY started, attempt", run_id)
    if as_json:
        return json.dumps({"run": runs[0], "pipelines": pipelines, "steps": steps}, indent=2) + "\n"
    run = runs[0]
    lines = [
        f"run {run['run_id']} {run['status']} in {_seconds(run['elapsed'])}, started {_when(run['started'])}",
        f"config {run['config']} (sha256 {run['config_hash'][:12]}), params {run['params']}",
        "",
    ]
    table = [("pipeline", "status", "attempts", "elapsed", "error")]
    table += [(p["pipeline"], p["status"], str(p["attempts"]), _seconds(p["elapsed"]), p["error"] or "") for p in pipelines]
    lines.append(_render(table))
    table = [("pipeline", "phase", "step", "plugin", "attempt", "status", "rows", "elapsed", "error")]
    table += [
        (s["pipeline"], s["phase"], s["step"], s["plugin"], str(s["attempt"]), s["status"],
         "-" if s["rows"] is None else str(s["rows"]), _seconds(s["elapsed"]), s["error"] or "")
        for s in steps
    ]
    lines.append(_render(table))
    return "\n".join(lines)


def _render(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "".join("  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip() + "\n" for row in rows)


def _when(timestamp: float | None) -> str:
    return "-" if timestamp is None else datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"
