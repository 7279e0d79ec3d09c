"""One scheduled run, started the way ``orchestrator run`` starts one, in a thread of its own.

The run is put together by :mod:`orchestrator.launch`, so it is recorded in the history its file's
``state:`` names (``orchestrator runs`` lists it) under the run id the ledger recorded at the claim,
runs on the file's configured executor, sends its notifications and keeps its checkpoints. A run
the ledger found started but unfinished after a restart is resumed (``--resume RUN_ID``). The
thread reports how the run ended on the server's queue and never touches the ledger itself: the
server's one thread owns the database connection.
"""

from __future__ import annotations

import queue
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.diagnostics import JSON, log_format, say
from orchestrator.events import Event, EventSink, Kind, discard

if TYPE_CHECKING:
    from collections.abc import Callable

    from orchestrator.config.model import Plan
    from orchestrator.launch import Launched
    from orchestrator.plugins.discovery import Plugins
    from orchestrator.serve.files import FileVersion

__all__ = ["CANCELLED_STATUS", "INTERRUPTED_STATUS", "Ended", "Job", "RunThread", "new_run_id", "recorded_status"]

#: how a run ended when the server stopped it on shutdown: left resumable, not recorded as ended
INTERRUPTED_STATUS = "interrupted"
#: how a run ended when ``overlap: cancel`` stopped it
CANCELLED_STATUS = "cancelled"


def new_run_id() -> str:
    """A run id in the history's own format (sortable by time), chosen before the claim."""
    return f"{datetime.now():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class Job:
    """What to run and why. ``key`` is the schedule or trigger id; ``logical_time`` is set for a
    tick (and an ``after`` trigger, which the ledger records as a tick), ``version`` for a file."""

    kind: str
    key: str
    config: Path
    pipeline: str
    run_id: str
    variables: dict[str, dict[str, str]] = field(default_factory=dict)
    resume: bool = False
    logical_time: datetime | None = None
    version: FileVersion | None = None
    #: ``--param`` values (a run asked for through the API)
    params: dict[str, Any] = field(default_factory=dict)
    #: the run whose dead letters this new run replays
    replay: str | None = None
    #: the pipelines to run when not just ``pipeline`` (a resumed run's own; empty: every pipeline)
    selection: tuple[str, ...] | None = None
    #: accepted through the API: recorded in the server's ledger of such runs, which carries it to
    #: an end across restarts (:mod:`orchestrator.serve.accepted`)
    accepted: bool = False

    @property
    def selected(self) -> tuple[str, ...]:
        if self.selection is not None:
            return self.selection
        return (self.pipeline,) if self.pipeline else ()


@dataclass
class Ended:
    """A run's end: ``status`` is succeeded, failed, cancelled or interrupted; ``outcomes`` how each
    pipeline of the run ended (what ``after`` triggers look at)."""

    job: Job
    status: str
    outcomes: dict[str, str]
    error: str | None = None


class RunThread(threading.Thread):
    """Runs one job, its events going to ``sink`` after the history; :meth:`stop` interrupts it
    (as a first Ctrl-C does: resumable)."""

    def __init__(
        self, job: Job, plugins: Plugins, done: queue.Queue[Any], sink: EventSink = discard,
        watch: Callable[[Plan], EventSink] | None = None,
    ) -> None:
        """``sink`` takes the run's events (the server's hub, for the web UI's live pages);
        ``watch``, given the run's plan, returns one more sink for them (the server's metrics)."""
        super().__init__(name=f"run {job.run_id}", daemon=True)
        self.job, self.plugins, self.done, self.sink = job, plugins, done, sink
        self.watch = watch
        self._stop_asked = threading.Event()
        self.stopped_for: str | None = None
        self._recorded_as: str | None = None

    def stop(self, why: str, *, record: bool = False) -> None:
        """Interrupt the run; ``why`` (cancelled or interrupted) becomes its status, and, with
        ``record``, its status in the history too (it stays resumable: it did not succeed)."""
        self.stopped_for = why
        if record:
            self._recorded_as = why
        self._stop_asked.set()

    def run(self) -> None:
        job = self.job
        try:
            result = self._launch()
        except Exception as exc:  # noqa: BLE001 - a run that cannot start is a failed tick, never a dead server
            self.done.put(Ended(job, "failed", {}, f"{type(exc).__name__}: {exc}"))
            return
        outcomes = {name: outcome.status for name, outcome in result.pipelines.items()}
        if result.ok:
            status = "succeeded"
        elif result.interrupted and self.stopped_for is not None:
            status = self.stopped_for
        else:
            status = "failed"
        self.done.put(Ended(job, status, outcomes))

    def _launch(self) -> Any:
        import anyio

        from orchestrator.config.plan import load_plan
        from orchestrator.launch import Launch, launched

        job = self.job
        plan = load_plan(job.config, self.plugins.registry, params=job.params, variables=job.variables)
        asked = Launch(str(job.config), job.selected, resume=job.run_id if job.resume else None,
                       run_id=None if job.resume else job.run_id, replay=job.replay)
        sink = self.sink if self.watch is None else _both(self.sink, self.watch(plan))
        if log_format() == JSON:
            sink = _with_step_lines(sink)
        with launched(plan, self.plugins, asked) as started:
            result = anyio.run(self._watched, started, sink)
            if self._recorded_as is not None and result.interrupted and started.state is not None:
                started.state.ended_as(started.run_id, self._recorded_as)
            return result

    async def _watched(self, started: Launched, sink: EventSink) -> Any:
        """Start the run, and interrupt it on the event loop when :meth:`stop` is called."""
        import anyio

        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while not self._stop_asked.is_set():
                    await anyio.sleep(0.1)
                started.interrupt()

            group.start_soon(watch)
            result = await started.start(sink)
            group.cancel_scope.cancel()
        return result


def _both(first: EventSink, second: EventSink) -> EventSink:
    def both(event: Event) -> None:
        first(event)
        second(event)

    return both


def _with_step_lines(sink: EventSink) -> EventSink:
    """Under ``--log-format json``, a served run's step log lines join the server's own on stderr."""

    def both(event: Event) -> None:
        sink(event)
        if event.kind is Kind.LOG:
            say(event.message or "", event.level or "info", run_id=event.run_id, pipeline=event.pipeline, step=event.step,
                when=event.time)

    return both


def recorded_status(state: str, base_dir: Path, run_id: str) -> str | None:
    """How the history records a run: None when it never started, else its status (``running``,
    ``interrupted``, ``succeeded``, ``failed``)."""
    from orchestrator.runstate.history import open_state

    history = open_state(state, base_dir)
    try:
        row = history.run(run_id)
    finally:
        history.close()
    return None if row is None else str(row["status"])
