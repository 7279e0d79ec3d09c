"""``orchestrator serve``: one process that fires schedules and triggers and runs their pipelines.

One thread (the caller's) owns the state stores and does all the scheduling, step by step as
docs/design/scheduling.md describes: every heartbeat it takes or renews each store's lease; on
becoming holder it starts or resumes what the ledger shows claimed or started but not ended; it
asks each schedule what is due, claims each tick (committed, with the run id) before its run
starts, and applies the overlap gate. Runs go in threads of their own (:mod:`.runs`), file
watchers too (:func:`~orchestrator.serve.files.watch_versions`); both report on one queue, which
the scheduling thread drains between ticks. Files are checked for changes every second and
reloaded; a file that no longer validates keeps its last good version. What a server takes over
on getting the lease and leaves when it stops is in :mod:`.handover`.
"""

from __future__ import annotations

import os
import queue
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from orchestrator.config.schedule import Tick
from orchestrator.diagnostics import JSON, log_format, say
from orchestrator.errors import ConfigError
from orchestrator.serve.accepted import AcceptedRuns, accept
from orchestrator.serve.catalog import Served, config_files, load_served, pipeline_key
from orchestrator.serve.fanout import Hub
from orchestrator.serve.files import FileLedger
from orchestrator.serve.handover import Held, carry_accepted, recover, shut_down
from orchestrator.serve.overlap import CANCEL, QUEUE, SKIP, OverlapGate
from orchestrator.serve.runs import CANCELLED_STATUS, INTERRUPTED_STATUS, Ended, Job, RunThread, new_run_id
from orchestrator.serve.store import connect, store_key, utc_now
from orchestrator.serve.ticks import LeaseLost, SchedulerLease, TickLedger
from orchestrator.serve.watching import FileSeen, Watchers

if TYPE_CHECKING:
    from orchestrator.plugins.discovery import Plugins

__all__ = ["Server"]

_RELOAD_EVERY = 1.0
#: when a schedule past its ``end`` is due next
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Server:
    """``targets``: pipeline files and directories. ``grace``: seconds running runs get to finish
    after SIGTERM before they are interrupted (left resumable)."""

    targets: list[str]
    plugins: Plugins
    grace: float = 30.0
    ttl: timedelta = timedelta(seconds=15)
    out: TextIO = sys.stderr
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.events: queue.Queue[Any] = queue.Queue()
        self.served: dict[Path, Served] = {}
        self.stores: dict[str, Held] = {}
        self.gates: dict[str, OverlapGate] = {}
        self.running: dict[str, RunThread] = {}
        self.queued_ids: dict[tuple[str, datetime], str] = {}
        self.next_at: dict[str, datetime | None] = {}
        self.first_seen: dict[str, datetime] = {}
        self.watchers = Watchers(self.events)
        #: the events of the runs started here, for whoever follows them (the API's event streams)
        self.hub = Hub()
        self.started_at = utc_now()
        self._store_of: dict[int, Held] = {}
        self._waiting_said = False
        from orchestrator.serve.metrics import ServeMetrics

        self.metrics = ServeMetrics(self)

    # -- reporting ------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        if log_format() == JSON:  # the time is the JSON line's own
            say(text, "info", stream=self.out)
        else:
            print(f"{utc_now():%Y-%m-%dT%H:%M:%SZ} {text}", file=self.out, flush=True)

    # -- files ----------------------------------------------------------------------------------------

    def load(self, path: Path) -> None:
        """Load (or reload) one file; a broken one is reported and its last good version kept."""
        try:
            served = load_served(path, self.plugins.registry)
        except (ConfigError, OSError, ValueError) as exc:
            kept = " (the last good version keeps running)" if path in self.served else ""
            self.say(f"{path}: not loaded{kept}:\n{exc}")
            if path in self.served:
                self.served[path].seen_broken()
            return
        self.store_of(served)  # opened now: a store that cannot be opened is a broken file
        old = self.served.get(path)
        self.served[path] = served
        if old is not None:
            self._store_of.pop(id(old), None)
        for sid, (_pipeline, schedule) in served.schedules.items():
            gate = self.gates.get(sid)
            if gate is None or gate.policy != schedule.overlap or gate.max_queue != schedule.max_queue:
                fresh = OverlapGate(schedule.overlap, schedule.max_queue)
                if gate is not None:
                    fresh.running, fresh.queued = gate.running, gate.queued
                self.gates[sid] = fresh
            self.next_at[sid] = None  # reconsider at once: the cadence may have changed
        self._restart_watchers(old, served)
        what = f"{len(served.schedules)} schedules, {len(served.files) + len(served.afters)} triggers"
        self.say(f"{path}: {'reloaded' if old else 'loaded'} ({what})")

    def check_files(self) -> None:
        """Reload what changed on disk, load files new in a served directory, drop deleted ones."""
        present = config_files(self.targets, with_mtimes=True)
        for path, mtime in present.items():
            known = self.served.get(path)
            if (known is None or known.mtime_ns != mtime or known.includes_changed()) and mtime >= 0:
                self.load(path)
        for path in set(self.served) - set(present):
            if not path.exists():
                self.say(f"{path}: removed, its schedules stop")
                gone = self.served.pop(path)
                self._store_of.pop(id(gone), None)
                self._restart_watchers(gone, None)

    def store_of(self, served: Served) -> Held:
        known = self._store_of.get(id(served))
        if known is not None:
            return known
        key = store_key(served.plan.state, served.plan.base_dir)
        if key not in self.stores:
            conn = connect(served.plan.state, served.plan.base_dir)
            self.stores[key] = Held(conn, SchedulerLease(conn, self.holder, ttl=self.ttl), TickLedger(conn), FileLedger(conn),
                                    AcceptedRuns(conn))
        self._store_of[id(served)] = self.stores[key]  # asked every loop: resolving the path each time costs
        return self.stores[key]

    def _restart_watchers(self, old: Served | None, new: Served | None) -> None:
        self.watchers.stop([trigger.id for trigger in old.files] if old else [])
        if new is None or self.store_of(new).lease is None:
            return  # watching starts when this server holds the lease
        for trigger in new.files:
            self.watchers.start(new.path.parent, trigger)

    # -- the lease ------------------------------------------------------------------------------------

    def heartbeat(self) -> None:
        for store in self.stores.values():
            had = store.lease
            try:
                store.lease = store.lease_of.acquire()
                store.accepted.renew(self.holder, self.ttl)  # the API's runs this server carries stay its own
            except Exception as exc:  # noqa: BLE001 - a store that is down: try again next heartbeat
                store.lease = None
                self.say(f"the lease could not be renewed: {exc}")
            if had is None and store.lease is not None:
                self.say(f"holding the scheduler lease (token {store.lease.token})")
                recover(self, store)
                for served in self.served.values():
                    if self.store_of(served) is store:
                        self._restart_watchers(served, served)
            elif had is not None and store.lease is None:
                self.say("lost the scheduler lease: firing nothing until it is held again")
            elif store.lease is None and not self._waiting_said:
                holder = store.lease_of.current()
                self.say(f"another server holds the scheduler lease ({holder.holder if holder else 'expiring'}); "
                         "firing nothing until it stops or its lease expires")
                self._waiting_said = True
            if store.lease is not None and not self.stopping.is_set():
                carry_accepted(self, store)

    def zone_of(self, served: Served, sid: str) -> Any:
        return served.schedules[sid][1].zone if sid in served.schedules else UTC

    # -- firing ---------------------------------------------------------------------------------------

    def fire_due(self, now: datetime) -> None:
        for served in list(self.served.values()):
            store = self.store_of(served)
            if store.lease is None:
                continue
            for sid, (pipeline, schedule) in served.schedules.items():
                due_at = self.next_at.get(sid)
                if due_at is not None and now < due_at:
                    continue
                if sid not in self.first_seen:
                    self.first_seen[sid] = store.ticks.first_seen(sid)
                due = schedule.due(store.ticks.last_tick(sid), now, first_seen=self.first_seen[sid])
                if due.ticks and store.ticks.paused(sid):
                    self.next_at[sid] = schedule.next_fire(now) or _NEVER
                    continue
                if due.skipped:
                    self.say(f"{sid}: missed ticks skipped (catchup: {schedule.catchup})")
                for tick in due.ticks:
                    self._claim_and_offer(store, served, sid, pipeline, tick, "tick")
                self.next_at[sid] = schedule.next_fire(now) or _NEVER

    def _claim_and_offer(self, store: Held, served: Served, sid: str, pipeline: str, tick: Tick, kind: str) -> None:
        run_id = new_run_id()
        try:
            if not store.ticks.claim(sid, tick, by=self.holder, run_id=run_id, lease=store.lease):
                return
        except LeaseLost as exc:
            store.lease = None
            self.say(str(exc))
            return
        if kind == "tick":
            self.metrics.tick_fired(tick.logical_time, utc_now())
        job = Job(kind, sid, served.path, pipeline, run_id, {"schedule": tick.variables(self.zone_of(served, sid))},
                  logical_time=tick.logical_time)
        gate = self.gates.get(sid)
        if gate is None:
            self.start(store, job)
        else:
            self.offer(store, job, tick, gate)

    def offer(self, store: Held, job: Job, tick: Tick, gate: OverlapGate) -> None:
        """Follow the overlap gate's decision for a claimed tick."""
        decision = gate.offer(tick)
        sid = job.key
        if decision.action == "start":
            self.start(store, job)
        elif decision.action == SKIP:
            self.say(f"{sid}: tick {tick.logical_time.isoformat()} skipped: {decision.reason}")
            self.mark(store, job, "skipped")
        elif decision.action in (QUEUE, CANCEL):
            self.queued_ids[(sid, tick.logical_time)] = job.run_id
            if decision.action == CANCEL:
                gate.queued.append(tick)
                for running in decision.cancel:
                    if running in self.running:
                        self.running[running].stop(CANCELLED_STATUS)
            self.say(f"{sid}: tick {tick.logical_time.isoformat()} waits: {decision.reason}")

    def start(self, store: Held, job: Job) -> None:
        thread = RunThread(job, self.plugins, self.events, self.hub.sink(job.run_id), self.metrics.consumer)
        self.running[job.run_id] = thread
        self.hub.expect(job.run_id, job.config, job.selected)
        if job.kind == "tick" and job.key in self.gates:
            self.gates[job.key].started(job.run_id)
        thread.start()
        self.mark(store, job, "started")
        self.say(f"{job.key}: run {job.run_id} started" + (f" for {job.logical_time.isoformat()}" if job.logical_time and job.kind == "tick" else ""))

    def mark(self, store: Held, job: Job, status: str) -> None:
        try:
            if job.version is not None:
                store.files.mark(job.key, job.version, status, run_id=job.run_id, lease=store.lease)
            elif job.logical_time is not None:
                store.ticks.mark(job.key, job.logical_time, status, run_id=job.run_id, lease=store.lease)
            elif job.accepted and not store.accepted.mark(job.run_id, status, by=self.holder):
                self.say(f"{job.key}: run {job.run_id} is carried by another server now (this one's hold on it expired)")
        except LeaseLost as exc:
            store.lease = None
            self.say(str(exc))

    # -- events from runs and watchers ----------------------------------------------------------------

    def submit(self, job: Job) -> None:
        """Start a run asked for from another thread (the API): recorded (committed) as accepted
        first, so it is owed an end even if this server stops; the loop's thread starts it."""
        served = self.served.get(job.config)
        if self.stopping.is_set() or served is None:
            raise RuntimeError("the server is stopping and starts no new run" if served else f"{job.config.name} is no longer served")
        accept(job, served.plan, by=self.holder, ttl=self.ttl)
        self.hub.expect(job.run_id, job.config, job.selected)
        self.events.put(job)

    def handle(self, event: Any) -> None:
        if isinstance(event, FileSeen):
            self._file_seen(event)
        elif isinstance(event, Ended):
            self._ended(event)
        elif isinstance(event, Job):
            served = self.served.get(event.config)
            if served is None or self.stopping.is_set():
                self.hub.ended(event.run_id, INTERRUPTED_STATUS)
                self.say(f"{event.key}: run {event.run_id} not started: the file is no longer served, or the server stops; "
                         "a server that serves the file starts it")
                return
            self.start(self.store_of(served), event)

    def _file_seen(self, seen: FileSeen) -> None:
        for served in self.served.values():
            for trigger in served.files:
                if trigger.id != seen.trigger_id:
                    continue
                store = self.store_of(served)
                if store.lease is None:
                    return
                run_id = new_run_id()
                try:
                    if not store.files.claim(trigger.id, seen.version, run_id=run_id, lease=store.lease):
                        return
                except LeaseLost as exc:
                    store.lease = None
                    self.say(str(exc))
                    return
                self.start(store, Job("file", trigger.id, served.path, trigger.pipeline, run_id,
                                      {"trigger": {"path": seen.version.path}}, version=seen.version))
                return

    def _ended(self, ended: Ended) -> None:
        job = ended.job
        self.running.pop(job.run_id, None)
        self.hub.ended(job.run_id, ended.status)
        self.metrics.run_ended(ended.status)
        served = self.served.get(job.config)
        store = self.store_of(served) if served else None
        note = f": {ended.error}" if ended.error else ""
        if ended.status == INTERRUPTED_STATUS:
            note = ": left resumable, the next start resumes it"
        self.say(f"{job.key}: run {job.run_id} {ended.status}{note}")
        if store is not None and ended.status != INTERRUPTED_STATUS:
            self.mark(store, job, ended.status)
        gate = self.gates.get(job.key)
        if gate is not None and served is not None and store is not None:
            following = gate.finished(job.run_id)
            if following is not None and not self.stopping.is_set():
                run_id = self.queued_ids.pop((job.key, following.logical_time), new_run_id())
                pipeline, _schedule = served.schedules[job.key]
                self.start(store, Job("tick", job.key, served.path, pipeline, run_id,
                                      {"schedule": following.variables(self.zone_of(served, job.key))},
                                      logical_time=following.logical_time))
        if ended.status != INTERRUPTED_STATUS and not self.stopping.is_set():
            self._fire_afters(job, ended.outcomes)

    def _fire_afters(self, job: Job, outcomes: dict[str, str]) -> None:
        """``after`` triggers of every served file whose upstream pipeline just ended as they ask.
        Each fire is recorded in the ledger as a tick of the trigger (its logical time is now)."""
        ends = {pipeline_key(job.config, name): status for name, status in outcomes.items()}
        now = utc_now()
        for served in list(self.served.values()):
            store = self.store_of(served)
            if store.lease is None:
                continue
            for after in served.afters:
                status = ends.get(after.upstream)
                if status is not None and (after.status == status or (after.status == "finished" and status in ("succeeded", "failed"))):
                    self._claim_and_offer(store, served, after.id, after.pipeline, Tick(now, now, now), "after")

    # -- the loop -------------------------------------------------------------------------------------

    def serve(self, ready: Callable[[], None] = lambda: None) -> None:
        """Run until :meth:`stop`; then let runs finish within the grace period."""
        from orchestrator.reporting import route_step_logs

        route_step_logs()  # what steps log becomes events of their run (kept in the history, streamed)
        for path in config_files(self.targets):
            self.load(path)
        if not self.served:
            raise ValueError("no pipeline file could be loaded")
        self.heartbeat()
        ready()
        beat, files = time.monotonic() + self.ttl.total_seconds() / 3, time.monotonic() + _RELOAD_EVERY
        while not self.stopping.is_set():
            if time.monotonic() >= beat:
                self.heartbeat()
                beat = time.monotonic() + self.ttl.total_seconds() / 3
            if time.monotonic() >= files:
                self.check_files()
                files = time.monotonic() + _RELOAD_EVERY
            now = utc_now()
            self.fire_due(now)
            wait = min(beat, files) - time.monotonic()
            upcoming = [at for at in self.next_at.values() if at is not None]
            if upcoming:
                wait = min(wait, (min(upcoming) - utc_now()).total_seconds())
            self.drain(max(0.0, min(wait, 1.0)))
        shut_down(self)

    def stop(self) -> None:
        self.stopping.set()
        self.events.put(None)  # wake the loop

    def drain(self, wait: float) -> None:
        try:
            event = self.events.get(timeout=wait) if wait > 0 else self.events.get_nowait()
        except queue.Empty:
            return
        while True:
            if event is not None:
                self.handle(event)
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
