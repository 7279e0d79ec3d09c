"""``orchestrator backfill``: one run per tick of a pipeline's schedule in a range of days.

Each tick is claimed in the same ledger the server writes (so a backfill and a server never run
one tick twice), with its own logical time as ``${schedule.*}``. Ticks that succeeded are skipped
unless ``force``; failed, cancelled and skipped ones run again. A backfill stopped half-way is
continued by running it again: a tick it had claimed or started is found in the history by its
recorded run id and resumed, or recorded as ended.
"""

from __future__ import annotations

import os
import queue
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.serve.catalog import Served, load_served, pipeline_key
from orchestrator.serve.runs import Ended, Job, RunThread, new_run_id, recorded_status
from orchestrator.serve.store import connect
from orchestrator.serve.ticks import CLAIMED, STARTED, SUCCEEDED, TickLedger

if TYPE_CHECKING:
    from orchestrator.plugins.discovery import Plugins

__all__ = ["BACKFILL", "Backfill", "BackfillError"]

#: the ``claimed_by`` of every backfill, so a later backfill knows a tick is its own to continue
BACKFILL = "backfill"
_AGAIN = ("failed", "cancelled", "skipped")


class BackfillError(ValueError):
    """The backfill cannot start as asked (no such pipeline, no schedule, a bad range)."""


@dataclass
class Backfill:
    config: Path
    pipeline: str
    first: str
    last: str
    plugins: Plugins
    parallel: int = 1
    force: bool = False
    say: Callable[[str], None] = print

    def run(self) -> dict[str, int]:
        """Run the range; returns how many ticks ended how (``succeeded``, ``failed``, ``skipped``)."""
        from orchestrator.config.schedule import ScheduleError

        served = load_served(self.config, self.plugins.registry)
        sid = pipeline_key(served.path, self.pipeline)
        if self.pipeline not in served.plan.pipelines:
            raise BackfillError(f"--pipeline {self.pipeline!r}: no such pipeline in {self.config} ({', '.join(served.plan.pipelines)})")
        if sid not in served.schedules:
            raise BackfillError(f"--pipeline {self.pipeline!r} has no schedule: a backfill runs a schedule's ticks")
        schedule = served.schedules[sid][1]
        try:
            ticks = list(schedule.backfill(self.first, self.last))
        except ScheduleError as exc:
            raise BackfillError(str(exc)) from None
        self.say(f"backfill {sid}: {len(ticks)} ticks from {self.first} to {self.last}")
        connection = connect(served.plan.state, served.plan.base_dir)
        try:
            return self._run(served, sid, ticks, TickLedger(connection))
        finally:
            connection.close()

    def _run(self, served: Served, sid: str, ticks: list[Any], ledger: TickLedger) -> dict[str, int]:
        counts = {"succeeded": 0, "failed": 0, "skipped": 0}
        done: queue.Queue[Any] = queue.Queue()
        running = 0
        by = f"{BACKFILL}:{socket.gethostname()}:{os.getpid()}"
        again = (*_AGAIN, SUCCEEDED) if self.force else _AGAIN
        for tick in ticks:
            job = self._job(served, sid, ledger, tick, by, again)
            when = tick.logical_time.astimezone(served.schedules[sid][1].zone).isoformat()
            if job is None:
                counts["skipped"] += 1
                self.say(f"  {when}: skipped ({(ledger.get(sid, tick.logical_time) or _Nothing).status})")
                continue
            while running >= self.parallel:
                running -= self._collect(done.get(), ledger, counts, served)
            job.variables = {"schedule": tick.variables(served.schedules[sid][1].zone)}
            RunThread(job, self.plugins, done).start()
            ledger.mark(sid, tick.logical_time, STARTED, run_id=job.run_id)
            self.say(f"  {when}: run {job.run_id} {'resumed' if job.resume else 'started'}")
            running += 1
        while running:
            running -= self._collect(done.get(), ledger, counts, served)
        return counts

    def _job(self, served: Served, sid: str, ledger: TickLedger, tick: Any, by: str, again: tuple[str, ...]) -> Job | None:
        """The job for a tick, or None to skip it: claimed now, or continued from an earlier
        backfill that stopped while it was claimed or running."""
        run_id = new_run_id()
        if ledger.claim(sid, tick, by=by, run_id=run_id, again=again):
            return Job("tick", sid, served.path, self.pipeline, run_id, logical_time=tick.logical_time)
        record = ledger.get(sid, tick.logical_time)
        if record is None or record.status not in (CLAIMED, STARTED) or not record.claimed_by.startswith(BACKFILL) or not record.run_id:
            return None
        status = recorded_status(served.plan.state, served.plan.base_dir, record.run_id)
        if status in ("succeeded", "failed"):
            ledger.mark(sid, tick.logical_time, status)
            return None if status == SUCCEEDED and not self.force else self._job(served, sid, ledger, tick, by, again)
        return Job("tick", sid, served.path, self.pipeline, record.run_id, resume=status is not None, logical_time=tick.logical_time)

    def _collect(self, ended: Ended, ledger: TickLedger, counts: dict[str, int], served: Served) -> int:
        job = ended.job
        assert job.logical_time is not None
        ledger.mark(job.key, job.logical_time, ended.status, run_id=job.run_id)
        counts["succeeded" if ended.status == SUCCEEDED else "failed"] += 1
        when = job.logical_time.astimezone(served.schedules[job.key][1].zone).isoformat()
        note = f": {ended.error}" if ended.error else ""
        self.say(f"  {when}: run {job.run_id} {ended.status}{note}")
        return 1


class _Nothing:
    status = "not recorded"
