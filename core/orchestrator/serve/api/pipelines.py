"""``GET /api/files``, ``GET /api/pipelines`` (every pipeline of every served file, with its
schedule, whether it is paused, its latest runs and the params its file declares) and
``GET /api/plugins``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request

    from orchestrator.serve.api.served import Catalog
    from orchestrator.serve.catalog import Served

__all__ = ["LATEST_RUNS", "declared_params", "files", "pipelines", "plugins"]

#: the runs shown per pipeline (the cells of the grid)
LATEST_RUNS = 25


def files(catalog: Catalog) -> dict[str, Any]:
    return {"files": [
        {"id": file_id, "name": served.path.name, "pipelines": list(served.plan.pipelines),
         "schedules": len(served.schedules), "triggers": len(served.files) + len(served.afters)}
        for file_id, served in catalog.files()
    ]}


def pipelines(catalog: Catalog, request: Request) -> dict[str, Any]:
    """Every pipeline, file by file; ``q`` keeps those whose name or file id contains it (any case),
    ``failing=1`` puts first those whose latest run failed."""
    from orchestrator.serve.listing import period
    from orchestrator.serve.store import connect, utc_now
    from orchestrator.serve.ticks import TickLedger

    wanted = (request.query_params.get("q") or "").lower()
    now = utc_now()
    found: list[dict[str, Any]] = []
    for file_id, served in catalog.files():
        names = [name for name in served.plan.pipelines if wanted in name.lower() or wanted in file_id.lower()]
        if not names:
            continue
        history, config = catalog.history(served), str(served.plan.source.resolve())
        params = declared_params(served.plan.params)
        schedules = {pipeline: (sid, schedule) for sid, (pipeline, schedule) in served.schedules.items()}
        connection = connect(served.plan.state, served.plan.base_dir) if schedules else None
        try:
            ledger = TickLedger(connection) if connection is not None else None
            for name in names:
                spec = served.plan.pipelines[name]
                shown = None
                if name in schedules and ledger is not None:
                    sid, schedule = schedules[name]
                    upcoming = schedule.next_fire(now)
                    shown = {
                        "text": f"cron {schedule.cron}" if schedule.cron else f"every {period(schedule.every)}",
                        "timezone": schedule.zone.key, "paused": ledger.paused(sid),
                        "next": upcoming.astimezone(schedule.zone).isoformat() if upcoming else None,
                    }
                found.append({
                    "file": file_id, "name": name, "type": spec.type, "depends_on": list(spec.depends_on),
                    "schedule": shown, "triggers": _triggers(catalog, served, name),
                    "runs": history.pipeline_latest(config, name, LATEST_RUNS), "params": params,
                })
        finally:
            if connection is not None:
                connection.close()
    if request.query_params.get("failing") in ("1", "true", "yes"):
        found.sort(key=lambda row: not (row["runs"] and row["runs"][0]["status"] == "failed"))
    return {"pipelines": found}


#: the type of a param, from its default (what ``--param`` converts a value to)
_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (list, "list"), (str, "string"))


def declared_params(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``params:`` of a file with their defaults, for a form that starts a run: a default whose
    name looks secret is shown as ``***`` (it is still what a run gets when no value is given)."""
    from orchestrator.config.interpolate import looks_secret

    found = []
    for name, default in values.items():
        kind = next((text for python, text in _TYPES if isinstance(default, python)), None)
        shown = "***" if looks_secret(name) and default not in (None, "") else default
        found.append({"name": name, "default": shown, "type": kind, "secret": looks_secret(name)})
    return found


def _triggers(catalog: Catalog, served: Served, name: str) -> list[str]:
    """Each trigger of the pipeline as text; an upstream pipeline is named ``FILE_ID#PIPELINE``."""
    shown = [f"file {t.pattern}" for t in served.files if t.pipeline == name]
    for after in served.afters:
        if after.pipeline == name:
            config, _, upstream = after.upstream.rpartition("#")
            shown.append(f"after {catalog.file_id(Path(config))}#{upstream} {after.status}")
    return shown


def plugins(catalog: Catalog) -> dict[str, Any]:
    """What ``orchestrator plugins --json`` prints: loaded plugins, and those that failed with why."""
    from orchestrator.plugins.listing import listing

    return listing(catalog.server.plugins.registry)
