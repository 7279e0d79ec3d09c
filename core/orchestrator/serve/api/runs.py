"""``GET /api/runs`` (one page of runs, newest first, keyset-paginated), ``GET /api/runs/{run_id}``
(one run: its pipelines, phases, step attempts and the DAG of its pipelines; ``?steps=0``: without
the phases and steps) and ``GET /api/runs/{run_id}/pipelines/{pipeline}`` (one pipeline's row,
phases and steps: what a page of a big run reads for the pipelines it shows).

Rows are returned with every column the history has (a column a newer version adds shows up
without a change here), except the config's text, which has its own endpoint, and the columns
every row of an answer would repeat (``run_id``; ``pipeline`` under one pipeline): a run of a
thousand pipelines is a few thousand rows, and the answer's size is what a page waits for.
"""

from __future__ import annotations

import heapq
import json
from typing import TYPE_CHECKING, Any

from orchestrator.serve.api.responses import ApiError, query_int

if TYPE_CHECKING:
    from starlette.requests import Request

    from orchestrator.serve.api.served import Catalog
    from orchestrator.serve.fanout import Hub

__all__ = ["MAX_PAGE", "cursor", "run_detail", "run_page", "run_pipeline"]

#: runs per page unless ``limit`` says, and at most
PAGE, MAX_PAGE = 50, 500
STATUSES = ("running", "succeeded", "failed", "interrupted", "cancelled")


def cursor(row: dict[str, Any]) -> str:
    """Where the next page starts: after this run (its start time and id; opaque to clients)."""
    return f"{float(row['started'])!r}~{row['run_id']}"


def _after(text: str) -> tuple[float, str]:
    started, sep, run_id = text.partition("~")
    try:
        if not sep or not run_id:
            raise ValueError
        return float(started), run_id
    except ValueError:
        raise ApiError(400, f"?before={text!r} is not a cursor; pass the 'next' of the previous page as it is") from None


def run_page(catalog: Catalog, request: Request) -> dict[str, Any]:
    """The runs the query asks for, newest first, and the cursor of the next page (null on the last)."""
    query = request.query_params
    limit = query_int(request, "limit", PAGE, low=1, high=MAX_PAGE)
    before = _after(query["before"]) if query.get("before") else None
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"?status={status!r}: expected one of {', '.join(STATUSES)}")
    wanted = catalog.file(query["file"]).plan.source.resolve() if query.get("file") else None
    configs = catalog.configs()
    pages = []
    for history, names in catalog.histories():
        names = [name for name in names if wanted is None or name == str(wanted)]
        if names:
            pages.append(history.run_page(names, limit + 1, before=before, status=status, pipeline=query.get("pipeline") or None))
    newest = heapq.merge(*pages, key=lambda row: (row["started"], row["run_id"]), reverse=True)
    rows = [row for row, _ in zip(newest, range(limit + 1))]
    for row in rows:
        row["file"] = configs[row["config"]][0]
        row["params"] = _params(row["params"])
    more = len(rows) > limit
    return {"runs": rows[:limit], "next": cursor(rows[limit - 1]) if more else None}


def run_detail(catalog: Catalog, hub: Hub, run_id: str, request: Request) -> dict[str, Any]:
    """One run as recorded (or, started here a moment ago and not recorded yet, as asked), with the
    DAG of its pipelines: a node per pipeline with its status, an edge per ``depends_on``. Each
    pipeline row says how many steps it started (``step_count``); ``?steps=0`` leaves out the
    phases and step attempts, which :func:`run_pipeline` gives one pipeline at a time."""
    from orchestrator.config.graph import with_dependencies

    with_steps = request.query_params.get("steps", "1") not in ("0", "false", "no")
    live = hub.live(run_id)
    try:
        history, file_id, served, run = catalog.find_run(run_id)
    except ApiError:
        if live is None:
            raise
        file_id, served = catalog.at(live.config)
        run, history = {"run_id": run_id, "status": "starting", "config": str(served.plan.source.resolve())}, None
    run.pop("config_text", None)
    run["file"], run["live"] = file_id, live is not None
    if "params" in run:
        run["params"] = _params(run["params"])
    pipelines = _without(history.pipelines(run_id), "run_id") if history else []
    counts = history.step_counts(run_id) if history else {}
    for row in pipelines:
        row["step_count"] = counts.get(row["pipeline"], 0)
    statuses = {row["pipeline"]: row["status"] for row in pipelines}
    depends_on = {name: spec.depends_on for name, spec in served.plan.pipelines.items()}
    if live is not None:  # its events are ahead of the history; what it will get to is pending
        statuses.update(live.statuses)
        for name in sorted(with_dependencies(depends_on, live.pipelines or served.plan.pipelines)):
            statuses.setdefault(name, "pending")
    nodes = [{"id": name, "status": status} for name, status in statuses.items()]
    edges = [{"from": up, "to": name} for name in statuses for up in depends_on.get(name, ()) if up in statuses]
    found: dict[str, Any] = {"run": run, "pipelines": pipelines, "dag": {"nodes": nodes, "edges": edges}}
    if with_steps:
        found["phases"] = _without(history.phases(run_id), "run_id") if history else []
        found["steps"] = _without(history.steps(run_id), "run_id") if history else []
    return found


def run_pipeline(catalog: Catalog, run_id: str, name: str) -> dict[str, Any]:
    """One pipeline of a recorded run: its row (null when it has not started), phases and step
    attempts. A name the run's file does not have is a 404."""
    history, file_id, served, _run = catalog.find_run(run_id)
    if name not in served.plan.pipelines:
        raise ApiError(404, f"no pipeline {name!r} in {file_id}; GET /api/runs/{run_id} lists the run's pipelines")
    rows = _without(history.pipelines(run_id, name), "run_id")
    steps = _without(history.steps(run_id, name), "run_id", "pipeline")
    for row in rows:
        row["step_count"] = len({step["step"] for step in steps})
    return {"pipeline": rows[0] if rows else None, "phases": _without(history.phases(run_id, name), "run_id", "pipeline"), "steps": steps}


def _without(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """The rows without the columns each of them would repeat."""
    for row in rows:
        for key in keys:
            row.pop(key, None)
    return rows


def _params(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text
