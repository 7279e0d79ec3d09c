"""What one server's lifetime hands to the next: what it takes over when it comes to hold the
lease, and what it leaves when it stops.

A server may die at any moment (SIGKILL included) between recording a tick and starting its run,
or while the run runs; whoever holds the lease next finds those ticks in the ledger and starts or
resumes each under the run id recorded with it, so nothing runs twice and nothing is lost
(:func:`recover`); runs accepted through the API that no live server holds are taken over the same
way (:func:`carry_accepted`). A server asked to stop lets its runs finish within the grace period
and leaves the rest resumable, for the next one to resume (:func:`shut_down`). The firing itself
stays in :mod:`orchestrator.serve.server`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator.serve.runs import INTERRUPTED_STATUS, Job, new_run_id, recorded_status

if TYPE_CHECKING:
    from orchestrator.config.schedule import Tick
    from orchestrator.serve.accepted import AcceptedRuns
    from orchestrator.serve.catalog import Served
    from orchestrator.serve.files import FileLedger
    from orchestrator.serve.overlap import OverlapGate
    from orchestrator.serve.runs import RunThread
    from orchestrator.serve.ticks import Lease, SchedulerLease, TickLedger
    from orchestrator.serve.watching import Watchers

__all__ = ["Held", "Server", "carry_accepted", "recover", "shut_down"]


@dataclass
class Held:
    """One state store and what the server holds on it."""

    connection: Any
    lease_of: SchedulerLease
    ticks: TickLedger
    files: FileLedger
    accepted: AcceptedRuns
    lease: Lease | None = None


class Server(Protocol):
    """What recovery and shutdown use of :class:`orchestrator.serve.server.Server` (a protocol, so
    this module does not import the loop that imports it)."""

    served: dict[Path, Served]
    stores: dict[str, Held]
    gates: dict[str, OverlapGate]
    running: dict[str, RunThread]
    watchers: Watchers
    grace: float
    ttl: timedelta
    holder: str

    def say(self, text: str) -> None: ...
    def store_of(self, served: Served) -> Held: ...
    def zone_of(self, served: Served, sid: str) -> Any: ...
    def offer(self, store: Held, job: Job, tick: Tick, gate: OverlapGate) -> None: ...
    def start(self, store: Held, job: Job) -> None: ...
    def mark(self, store: Held, job: Job, status: str) -> None: ...
    def heartbeat(self) -> None: ...
    def drain(self, wait: float) -> None: ...


def recover(server: Server, store: Held) -> None:
    """Start or resume what the ledger shows claimed or started but not ended (the server
    before stopped or died in between), each under its recorded run id."""
    jobs: dict[str, tuple[Served, str, str]] = {}  # id -> (file, pipeline, kind)
    for served in server.served.values():
        if server.store_of(served) is store:
            for sid, (pipeline, _s) in served.schedules.items():
                jobs[sid] = (served, pipeline, "tick")
            for after in served.afters:
                jobs[after.id] = (served, after.pipeline, "after")
            for trigger in served.files:
                for version, run_id in store.files.unstarted(trigger.id) + store.files.in_flight(trigger.id):
                    job = Job("file", trigger.id, served.path, trigger.pipeline, run_id or new_run_id(),
                              {"trigger": {"path": version.path}}, version=version)
                    _settle(server, store, served, job)
    # runs that started first (they hold their schedule's overlap gate), then ticks that never
    # started, oldest first, which go through the gate again: a queue lost with the process is
    # rebuilt in logical-time order
    for record in store.ticks.in_flight() + store.ticks.unstarted():
        if record.schedule_id not in jobs or (record.run_id and record.run_id in server.running):
            continue
        served, pipeline, kind = jobs[record.schedule_id]
        variables = {"schedule": record.tick.variables(server.zone_of(served, record.schedule_id))}
        job = Job(kind, record.schedule_id, served.path, pipeline, record.run_id or new_run_id(), variables,
                  logical_time=record.logical_time)
        gate = server.gates.get(record.schedule_id)
        if record.status == "claimed" and gate is not None and recorded_status(served.plan.state, served.plan.base_dir, job.run_id) is None:
            server.offer(store, job, record.tick, gate)
        else:
            _settle(server, store, served, job)


def carry_accepted(server: Server, store: Held) -> None:
    """Take over the runs accepted through the API that no server carries any more (the one that
    accepted them stopped or died) and start or resume each under its recorded run id. The
    scheduler lease's holder does it, every heartbeat, so one server looks and, a record being
    taken in one conditional update, a run is never resumed twice."""
    from orchestrator.serve.accepted import CANCELLED, FAILED, STARTED, SUCCEEDED
    from orchestrator.serve.ticks import LeaseLost

    served_here = {str(served.path): served for served in server.served.values() if server.store_of(served) is store}
    try:
        orphans = store.accepted.orphans()
    except Exception as exc:  # noqa: BLE001 - a store that is down: the next heartbeat looks again
        server.say(f"the runs accepted through the API could not be looked at: {exc}")
        return
    for record in orphans:
        job, served = record.job, served_here.get(str(record.job.config))
        if served is None or job.run_id in server.running:
            continue  # its file is not served here (it waits for a server that serves it), or it runs already
        try:
            if not store.accepted.take(job.run_id, by=server.holder, ttl=server.ttl, lease=store.lease):
                continue
        except LeaseLost as exc:
            store.lease = None
            server.say(str(exc))
            return
        status = recorded_status(served.plan.state, served.plan.base_dir, job.run_id)
        # whether the run began (a resume's run is in the history from before it was accepted)
        began = record.status == STARTED or (job.kind != "resume" and status is not None)
        if began and status in (SUCCEEDED, FAILED, CANCELLED):  # it ended before its end was recorded; cancelled: by a user
            store.accepted.mark(job.run_id, str(status), by=server.holder)
            continue
        if record.secret:
            server.say(f"{job.key}: run {job.run_id} accepted through the API had a secret param, which is not recorded: "
                       "not started again; resume it with 'orchestrator run --resume'")
            store.accepted.mark(job.run_id, FAILED, by=server.holder)
            continue
        if began and status is not None:
            job.resume = job.replay is None  # a replay is run again under its id (a replay is not resumed)
            server.say(f"{job.key}: resuming run {job.run_id} started through the API")
        else:
            server.say(f"{job.key}: {'resuming' if job.resume else 'starting'} run {job.run_id} accepted through the API "
                       "before the server stopped")
        server.start(store, job)


def _settle(server: Server, store: Held, served: Served, job: Job) -> None:
    """A job found in the ledger: record its end if the history has it, resume it if it ran
    part of the way, start it under its id if it never started."""
    status = recorded_status(served.plan.state, served.plan.base_dir, job.run_id)
    if status in ("succeeded", "failed"):
        server.mark(store, job, status)
        return
    job.resume = status is not None
    server.say(f"{job.key}: {'resuming' if job.resume else 'starting'} run {job.run_id} left by an earlier server")
    server.start(store, job)


def shut_down(server: Server) -> None:
    """Stop watching, give running runs the grace period, interrupt the rest (resumable: their
    ticks stay ``started``, which :func:`recover` resumes on the next start), release the lease."""
    server.watchers.stop()
    if server.running:
        server.say(f"stopping: {len(server.running)} runs may finish within {server.grace:g}s")
    deadline = time.monotonic() + server.grace
    beat = time.monotonic()
    while server.running and time.monotonic() < deadline:
        if time.monotonic() >= beat:
            server.heartbeat()  # the lease stays ours while runs finish and are recorded
            beat = time.monotonic() + server.ttl.total_seconds() / 3
        server.drain(0.2)
    for thread in list(server.running.values()):
        thread.stop(INTERRUPTED_STATUS)
    for thread in list(server.running.values()):
        thread.join(timeout=30)
    server.drain(0)
    for run_id in server.running:
        server.say(f"run {run_id} did not stop: the next start resumes it")
    for store in server.stores.values():
        store.accepted.release(server.holder)  # what did not end here: the next server resumes it at once
        if store.lease is not None:
            store.lease_of.release()
        store.connection.close()
    server.say("stopped")
