"""What ``orchestrator schedules`` (and ``GET /api/schedules``) shows: each schedule and trigger of
the files given, its next fire times in its own time zone, whether it is paused, and its last tick
with the run it started — read from the same ledger the server writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from orchestrator.serve.catalog import Served
from orchestrator.serve.store import connect, utc_now
from orchestrator.serve.ticks import TickLedger

__all__ = ["NEXT", "period", "rows"]

#: how many fire times are shown
NEXT = 5


def rows(files: Iterable[Served], now: datetime | None = None) -> list[dict[str, Any]]:
    """One JSON-ready mapping per schedule and trigger, file by file, in the files' order."""
    moment = now or utc_now()
    found: list[dict[str, Any]] = []
    for served in files:
        connection = connect(served.plan.state, served.plan.base_dir)
        try:
            ledger = TickLedger(connection)
            for sid, (pipeline, schedule) in served.schedules.items():
                kind, spec = ("cron", schedule.cron) if schedule.cron else ("every", period(schedule.every))
                found.append({
                    "id": sid, "config": str(served.path), "pipeline": pipeline, "kind": kind, "spec": spec,
                    "timezone": schedule.zone.key,
                    "next": [t.astimezone(schedule.zone).isoformat() for t in schedule.fire_times(moment, NEXT)],
                    "paused": ledger.paused(sid), "last_tick": _last(ledger, sid),
                })
            for trigger in served.files:
                found.append({
                    "id": trigger.id, "config": str(served.path), "pipeline": trigger.pipeline, "kind": "file",
                    "spec": trigger.pattern, "timezone": None, "next": [], "paused": False, "last_tick": None,
                })
            for after in served.afters:
                found.append({
                    "id": after.id, "config": str(served.path), "pipeline": after.pipeline, "kind": "after",
                    "spec": f"{after.upstream} {after.status}", "timezone": None, "next": [], "paused": False,
                    "last_tick": _last(ledger, after.id),
                })
        finally:
            connection.close()
    return found


def period(every: timedelta | None) -> str:
    """A period as ``every:`` writes it: ``1d``, ``1h30m``, ``15s``."""
    left, parts = int(every.total_seconds()) if every else 0, []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or "0s"


def _last(ledger: TickLedger, schedule_id: str) -> dict[str, Any] | None:
    newest = ledger.history(schedule_id, limit=1)
    if not newest:
        return None
    record = newest[0]
    return {"logical_time": record.logical_time.isoformat(), "status": record.status, "run_id": record.run_id}
