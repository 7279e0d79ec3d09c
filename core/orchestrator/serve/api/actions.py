"""The API's actions, each a POST: run a pipeline now (with params), resume a run, cancel a run,
replay a run's dead letters, pause or unpause a schedule.

What can be checked before a run starts is checked here, so a request that cannot succeed gets its
reason at once (400: the request is wrong, as ``orchestrator run`` would say; 404: no such file,
pipeline or run; 409: not now, given the run's or the schedule's state). A run that may start is
handed to the server's loop (:meth:`~orchestrator.serve.server.Server.submit`), which starts it in
a thread of its own as it starts scheduled runs: the answer is 202 with its run id, and its events
follow on ``GET /api/runs/{run_id}/events``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from orchestrator.serve.api.responses import ApiError

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.serve.api.served import Catalog
    from orchestrator.serve.catalog import Served
    from orchestrator.serve.runs import Job

__all__ = ["cancel", "pause", "replay", "resume", "start"]


def start(catalog: Catalog, file_id: str, pipeline: str, body: Any) -> dict[str, Any]:
    """``{"params": {"NAME": VALUE}}``: a new run of one pipeline (and what it depends on)."""
    from orchestrator.serve.catalog import pipeline_key
    from orchestrator.serve.runs import Job, new_run_id

    served = catalog.pipeline(file_id, pipeline)
    if not isinstance(body, dict) or set(body) - {"params"}:
        raise ApiError(400, 'the body is a JSON object with one optional key, "params": {"NAME": "VALUE", ...}')
    params = body.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, (str, int, float, bool)) for v in params.values()):
        raise ApiError(400, '"params" is an object of NAME: VALUE, each value a string, number or boolean (as --param NAME=VALUE)')
    given = {str(name): value if isinstance(value, str) else json.dumps(value) for name, value in params.items()}
    _plan(catalog, served, given)
    job = Job("manual", f"{pipeline_key(served.path, pipeline)} run", served.path, pipeline, new_run_id(), params=given)
    return _submit(catalog, job)


def resume(catalog: Catalog, run_id: str) -> dict[str, Any]:
    """Continue a run that did not succeed, as ``orchestrator run --resume RUN_ID`` does, with the
    params it was recorded with and, for a scheduled run, its tick's ``${schedule.*}`` values."""
    from orchestrator.runstate.resume import ResumeError, resumable
    from orchestrator.serve.runs import Job

    history, file_id, served, run = catalog.find_run(run_id)
    if run_id in catalog.server.running:
        raise ApiError(409, f"run {run_id} is running in this server; wait for it to end, or cancel it first")
    params = _recorded_params(run["params"])
    plan = _plan(catalog, served, params)
    try:
        resumable(history, plan, run_id, force=False, config=file_id)
    except ResumeError as exc:
        raise ApiError(409, str(exc)) from None
    selection = tuple(row["pipeline"] for row in history.pipelines(run_id))
    variables = _tick_variables(served, run_id)
    job = Job("resume", f"{run['config']} resume {run_id}", served.path, "", run_id, variables, resume=True,
              params=params, selection=selection)
    return _submit(catalog, job)


def cancel(catalog: Catalog, run_id: str) -> dict[str, Any]:
    """Stop a run this server started, as a first Ctrl-C does; it is recorded as cancelled, resumable."""
    from orchestrator.serve.runs import CANCELLED_STATUS

    thread = catalog.server.running.get(run_id)
    if thread is None:
        _history, _file_id, _served, run = catalog.find_run(run_id)
        if run["status"] == "running":
            raise ApiError(409, f"run {run_id} was not started by this server (process {run['pid']} on {run['host']}); "
                                "stop it where it runs (Ctrl-C or SIGTERM): this server cancels only the runs it started")
        raise ApiError(409, f"run {run_id} is not running (it {run['status']}); there is nothing to cancel")
    thread.stop(CANCELLED_STATUS, record=True)
    return {"run_id": run_id, "status": "cancelling"}


def replay(catalog: Catalog, run_id: str) -> dict[str, Any]:
    """A new run of the rows run ``run_id`` dead-lettered, each from the step that rejected it."""
    from orchestrator.runstate.deadletters import DeadLetterError, replayable
    from orchestrator.runstate.layout import dead_letter_folder, valid_run_id
    from orchestrator.serve.runs import Job, new_run_id

    _history, _file_id, served, _run = catalog.find_run(run_id)
    if not valid_run_id(run_id):
        raise ApiError(409, f"run {run_id!r} was recorded before run ids were checked: it has no dead letters")
    plan = served.plan
    try:
        replayable(dead_letter_folder(plan.state, plan.base_dir), run_id, plan)
    except DeadLetterError as exc:
        raise ApiError(409, str(exc)) from None
    job = Job("replay", f"{served.path} replay {run_id}", served.path, "", new_run_id(), replay=run_id, selection=())
    return _submit(catalog, job)


def pause(catalog: Catalog, file_id: str, pipeline: str, paused: bool) -> dict[str, Any]:
    """Pause (or unpause) a pipeline's schedule, in the ledger of its state store: every server on
    that store, and a restarted one, fires nothing for it until it is unpaused."""
    from orchestrator.serve.catalog import pipeline_key
    from orchestrator.serve.store import connect
    from orchestrator.serve.ticks import TickLedger

    served = catalog.pipeline(file_id, pipeline)
    sid = pipeline_key(served.path, pipeline)
    if sid not in served.schedules:
        raise ApiError(409, f"pipeline {pipeline!r} of {file_id} has no schedule: there is nothing to {'pause' if paused else 'unpause'}")
    connection = connect(served.plan.state, served.plan.base_dir)
    try:
        TickLedger(connection).set_paused(sid, paused)
    finally:
        connection.close()
    catalog.server.next_at[sid] = None  # the loop looks at it again at once
    return {"file": file_id, "pipeline": pipeline, "paused": paused}


def _plan(catalog: Catalog, served: Served, params: dict[str, Any]) -> Plan:
    """The file's plan with these params, or a 400 that lists every problem as the CLI would."""
    from orchestrator.config.plan import load_plan
    from orchestrator.errors import ConfigError

    try:
        return load_plan(served.path, catalog.server.plugins.registry, params=params)
    except ConfigError as exc:
        lines = [str(problem) for problem in exc.problems]
        raise ApiError(400, "\n".join([*lines, f"{len(lines)} problem{'' if len(lines) == 1 else 's'} found."])) from None
    except OSError as exc:
        raise ApiError(409, f"{served.path.name} cannot be read now: {exc.strerror or exc}") from None


def _recorded_params(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _tick_variables(served: Served, run_id: str) -> dict[str, dict[str, str]]:
    """``${schedule.*}`` of the tick that started run ``run_id``, if a tick did."""
    from orchestrator.config.schedule import Tick
    from orchestrator.serve.store import Store, connect, from_stamp

    connection = connect(served.plan.state, served.plan.base_dir)
    try:
        found = Store(connection).rows(
            "SELECT schedule_id, logical_time, interval_start, interval_end FROM schedule_ticks WHERE run_id = ?", (run_id,)
        )
    finally:
        connection.close()
    if not found or found[0][0] not in served.schedules:
        return {}
    sid, *times = found[0]
    tick = Tick(*(from_stamp(text) for text in times))
    return {"schedule": tick.variables(served.schedules[sid][1].zone)}


def _submit(catalog: Catalog, job: Job) -> dict[str, Any]:
    try:
        catalog.server.submit(job)
    except RuntimeError as exc:
        raise ApiError(409, str(exc)) from None
    return {"run_id": job.run_id}
