"""The parts of one run that have endpoints of their own: its log lines, its dead letters, the
pipeline file as it ran (redacted), and the diff between two runs' files.

A run this server started a moment ago may not be recorded yet (its page asks for its parts as
soon as the start was answered): it has no log lines and no dead letters yet, which is what they
answer, not a 404."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.serve.api.responses import ApiError, query_int

if TYPE_CHECKING:
    from starlette.requests import Request

    from orchestrator.runstate.history.sql import SQLState
    from orchestrator.serve.api.served import Catalog
    from orchestrator.serve.fanout import Hub

__all__ = ["config", "dead_letters", "diff", "logs"]

#: log lines and dead letters per page, unless ``limit`` says, and at most
LINES, MAX_LINES = 1000, 5000
LETTERS, MAX_LETTERS = 100, 1000


def _recorded(catalog: Catalog, hub: Hub, run_id: str) -> tuple[SQLState, dict[str, Any]] | None:
    """The run's history and row; None for a run of this server not recorded yet (else a 404)."""
    try:
        history, _file_id, _served, run = catalog.find_run(run_id)
    except ApiError as exc:
        if exc.status == 404 and hub.live(run_id) is not None:
            return None
        raise
    return history, run


def logs(catalog: Catalog, hub: Hub, request: Request, run_id: str) -> dict[str, Any]:
    """Log lines after ``after`` (a line's ``seq``); ``next`` is the ``after`` of the next call."""
    after = query_int(request, "after", 0)
    found = _recorded(catalog, hub, run_id)
    if found is None:
        return {"lines": [], "next": after}
    history = found[0]
    limit = query_int(request, "limit", LINES, low=1, high=MAX_LINES)
    query = request.query_params
    lines = history.logs(run_id, pipeline=query.get("pipeline") or None, step=query.get("step") or None, after=after, limit=limit)
    return {"lines": lines, "next": lines[-1]["seq"] if lines else after}


def dead_letters(catalog: Catalog, hub: Hub, request: Request, run_id: str) -> dict[str, Any]:
    """How many rows each step of the run rejected, and one page of the rows with their reasons."""
    from orchestrator.runstate.deadletters import DeadLetterError, counts, page
    from orchestrator.runstate.history.sqlite import SQLiteState
    from orchestrator.runstate.layout import recorded_dead_letter_folder, valid_run_id

    offset = query_int(request, "offset", 0)
    limit = query_int(request, "limit", LETTERS, low=1, high=MAX_LETTERS)
    pipeline = request.query_params.get("pipeline") or None
    found_run = _recorded(catalog, hub, run_id)
    if found_run is None or not valid_run_id(run_id):
        return {"counts": [], "rows": [], "next": None}
    history, run = found_run
    folder = recorded_dead_letter_folder(history.path if isinstance(history, SQLiteState) else None, run["config"])
    try:
        found = [{key: row[key] for key in ("pipeline", "phase", "step", "rows")} for row in counts(folder, run_id)]
        rows, more = page(folder, run_id, pipeline, offset, limit)
    except DeadLetterError as exc:
        raise ApiError(409, str(exc)) from None
    return {"counts": found, "rows": rows, "next": offset + limit if more else None}


def config(catalog: Catalog, run_id: str) -> dict[str, Any]:
    _history, file_id, _served, run = catalog.find_run(run_id)
    return {"run_id": run_id, "file": file_id, "config_hash": run["config_hash"], "text": run.get("config_text")}


def diff(catalog: Catalog, first: str, second: str) -> dict[str, Any]:
    """The unified diff from run ``first``'s pipeline file to run ``second``'s (empty when equal)."""
    import difflib

    texts = []
    for run_id in (first, second):
        _history, file_id, _served, run = catalog.find_run(run_id)
        if run.get("config_text") is None:
            raise ApiError(409, f"run {run_id} was recorded before the history kept the text of pipeline files; "
                                "only runs recorded since can be diffed")
        texts.append((f"{run_id}/{file_id}", run["config_text"]))
    (a_name, a_text), (b_name, b_text) = texts
    lines = difflib.unified_diff(a_text.splitlines(keepends=True), b_text.splitlines(keepends=True), a_name, b_name)
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return {"a": first, "b": second, "same": a_text == b_text, "diff": text}
