"""Where a pipeline's run is recorded, once: each thing that happens becomes one :class:`Event`,
from which the step's outcome is derived, for which the observer hooks fire, and which goes on to
the run's event sink (history, reporters, notifier).

The hook rule (documented in ``docs/plugins/hooks.md``), kept by :class:`HookRelay`:

- a ``before_*`` hook that raises stops what it was about to start, as if that had raised: the
  step (``before_step_run``) or the pipeline (``before_pipeline_run``, ``before_phase_run``)
  fails with the hook's error;
- any other hook that raises (``after_*``, ``on_*``) changes nothing while the pipeline goes on;
  when it ends, the pipeline is failed, its error followed by ``lifecycle hook <name> failed:
  <error>``. A hook never fails another pipeline or the run;
- every ``before_*`` is paired with its ``after_*``, whatever the outcome: success, failure,
  timeout, cancellation or interruption (``status`` says which).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orchestrator.engine.usage import ACCOUNTING, peak_rss, recent_peak_rss
from orchestrator.errors import describe
from orchestrator.events import (
    FAILED,
    STEP_ENDS,
    SUCCEEDED,
    Event,
    EventSink,
    Kind,
    StepOutcome,
)

if TYPE_CHECKING:
    from orchestrator.config.cost import Rates
    from orchestrator.context import PipelineContext, StepContext
    from orchestrator.plugins.discovery import Plugins

#: the lifecycle hooks the engine fires
LIFECYCLE = (
    "before_pipeline_run", "after_pipeline_run", "on_pipeline_error", "before_phase_run", "after_phase_run",
    "before_step_run", "after_step_run", "on_step_error", "on_retry_exhausted",
)


def listened_hooks(plugins: Plugins) -> dict[str, Any]:
    """The lifecycle hooks some plugin implements (all of them when hook calls are traced),
    looked up once per run: a hook nobody implements costs nothing per step."""
    hooks = {}
    for name in LIFECYCLE:
        caller = getattr(plugins.hook, name)
        if plugins.tracing or caller.get_hookimpls():
            hooks[name] = caller
    return hooks


#: the kinds recorded here, looked up once (reading a member off its enum costs a lookup each time)
_PHASE_FINISHED = Kind.PHASE_FINISHED
_PHASE_STARTED = Kind.PHASE_STARTED
_RETRY_EXHAUSTED = Kind.RETRY_EXHAUSTED
_STEP_FAILED = Kind.STEP_FAILED
_STEP_FINISHED = Kind.STEP_FINISHED
_STEP_PROGRESS = Kind.STEP_PROGRESS
_STEP_RETRY = Kind.STEP_RETRY
_STEP_REUSED = Kind.STEP_REUSED
_STEP_STARTED = Kind.STEP_STARTED


class HookRelay:
    """Fires one pipeline's lifecycle hooks behind the one error boundary the module describes."""

    __slots__ = ("errors", "hooks")

    def __init__(self, hooks: dict[str, Any]) -> None:
        self.hooks = hooks
        #: what the hooks that raised said, each as ``lifecycle hook <name> failed: <error>``
        self.errors: list[str] = []

    def before(self, name: str, **kwargs: Any) -> None:
        """A ``before_*`` hook: what raises here is the caller's failure."""
        caller = self.hooks.get(name)
        if caller is not None:
            caller(**kwargs)

    def after(self, name: str, **kwargs: Any) -> None:
        """Any other hook: what raises is kept, to fail the pipeline when it ends."""
        caller = self.hooks.get(name)
        if caller is None:
            return
        try:
            caller(**kwargs)
        except Exception as exc:  # noqa: BLE001 - the hook rule: kept, to fail the pipeline at its end
            self.errors.append(f"lifecycle hook {name} failed: {describe(exc)}")


class PipelineRecord:
    """One pipeline's record point. ``steps`` (the pipeline's outcome) is derived from the
    events; ``open_phases`` and ``open_steps`` are what started and has not ended, so the ones an
    error or an interruption left open are closed with the same events and hooks."""

    def __init__(
        self, run_id: str, pipeline: str, sink: EventSink, relay: HookRelay, listening: bool, redact: Callable[[str], str],
        rates: Rates | None = None,
    ) -> None:
        self.run_id = run_id
        self.pipeline = pipeline
        self.sink = sink
        self.relay = relay
        #: whether anyone outside the engine reads the events that feed no outcome (starts, phases)
        self.listening = listening
        #: what every error text goes through before it leaves: it may quote a secret
        self.redact = redact
        self.steps: list[StepOutcome] = []
        self.open_phases: dict[str, float] = {}
        self.open_steps: dict[str, tuple[StepContext, float]] = {}
        #: the prices its work is estimated at (None: the config has no ``cost:``)
        self.rates = rates
        #: what its step attempts used, every attempt included
        self.cpu = 0.0
        self.bytes_read = 0
        self.bytes_written = 0

    def emit(self, event: Event) -> None:
        """The event of this pipeline: into its outcome, then to the run's sink (when anyone
        listens: a run without a sink pays for no call per step)."""
        if event.kind in STEP_ENDS:
            self.steps.append(StepOutcome.of(event))
        if self.listening:
            self.sink(event)

    def event(self, kind: Kind, **fields: Any) -> Event:
        return Event(kind, self.run_id, self.pipeline, **fields)

    def used(
        self, context: StepContext, elapsed: float, now: float | None = None
    ) -> tuple[float | None, int | None, int | None, int | None, float | None]:
        """What the step attempt that ended (at ``now``, a ``perf_counter`` reading) used
        (``cpu``, ``rss``, ``bytes_read``, ``bytes_written``, ``cost``; None each when not
        measured), added to the pipeline's."""
        read, written = context.bytes_read or None, context.bytes_written or None
        if read or written:
            self.bytes_read += read or 0
            self.bytes_written += written or 0
        if not ACCOUNTING.on:
            return None, None, read, written, None
        cpu, rss = context.cpu, recent_peak_rss(time.perf_counter() if now is None else now)
        self.cpu += cpu
        return cpu, rss, read, written, None if self.rates is None else self.rates.estimate(cpu, rss, elapsed)

    def totals(self, elapsed: float) -> dict[str, Any]:
        """What the pipeline used, for its closing event."""
        read, written = self.bytes_read or None, self.bytes_written or None
        if not ACCOUNTING.on:
            return {"bytes_read": read, "bytes_written": written}
        cpu, rss = self.cpu, peak_rss()
        cost = None if self.rates is None else self.rates.estimate(cpu, rss, elapsed)
        return {"cpu": cpu, "rss": rss, "bytes_read": read, "bytes_written": written, "cost": cost}

    # -- phases ------------------------------------------------------------------------------

    def phase_started(self, context: PipelineContext, phase: str) -> None:
        self.open_phases[phase] = time.perf_counter()
        if self.listening:
            self.emit(self.event(_PHASE_STARTED, phase=phase))
        self.relay.before("before_phase_run", context=context, phase=phase)

    def phase_finished(self, context: PipelineContext, phase: str, status: str = SUCCEEDED) -> None:
        started = self.open_phases.pop(phase, None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        if self.listening:
            self.emit(self.event(_PHASE_FINISHED, phase=phase, status=status, elapsed=elapsed))
        self.relay.after("after_phase_run", context=context, phase=phase, elapsed=elapsed, status=status)

    # -- steps -------------------------------------------------------------------------------

    def step_started(self, context: StepContext, args: dict[str, Any], started: float) -> None:
        self.open_steps[context.step_id] = (context, started)
        if self.listening:
            self.emit(self.event(_STEP_STARTED, phase=context.phase, step=context.step_id, plugin=context.plugin))
        if "before_step_run" in self.relay.hooks:
            self.relay.before("before_step_run", context=context, args=args)

    def step_finished(self, context: StepContext, rows: int | None, rows_in: int | None, attempt: int) -> None:
        _, started = self.open_steps.pop(context.step_id)
        elapsed = (now := time.perf_counter()) - started
        # positional: the one event every step makes, so the cheapest way to build it
        self.emit(Event(
            _STEP_FINISHED, self.run_id, self.pipeline, context.phase, context.step_id, context.plugin, SUCCEEDED,
            rows, elapsed, None, time.time(), None, context.rejected or None, rows_in, attempt, None, None,
            *self.used(context, elapsed, now),
        ))
        if "after_step_run" in self.relay.hooks:
            self.relay.after("after_step_run", context=context, rows=rows, elapsed=elapsed, status=SUCCEEDED)

    def step_failed(
        self, context: StepContext, error: BaseException, attempt: int, status: str = FAILED, *, raised: bool = True
    ) -> None:
        """A step ended without succeeding: it ``raised``, or was cut short with its pipeline
        (``status`` then the pipeline's); ``on_step_error`` fires for the first only."""
        found = self.open_steps.pop(context.step_id, None)
        elapsed = 0.0 if found is None else time.perf_counter() - found[1]
        rejected = context.rejected
        text = self.redact(describe(error)) if raised else f"{status}: its pipeline ended while it ran"
        cpu, rss, read, written, cost = self.used(context, elapsed)
        self.emit(self.event(
            _STEP_FAILED, phase=context.phase, step=context.step_id, plugin=context.plugin, status=status,
            elapsed=elapsed, error=text, rejected=rejected or None, attempt=attempt or None,
            cpu=cpu, rss=rss, bytes_read=read, bytes_written=written, cost=cost,
            error_type=type(error).__qualname__ if raised else None,
        ))
        if raised:
            self.relay.after("on_step_error", context=context, error=error)
        if found is not None:
            self.relay.after("after_step_run", context=context, rows=None, elapsed=elapsed, status=status)

    def step_retry(
        self, context: StepContext, error: BaseException, attempt: int, attempts: int, delay: float, elapsed: float
    ) -> None:
        """Attempt ``attempt - 1`` failed after ``elapsed`` seconds; the next starts in ``delay``.
        What it used is recorded on this event, and counted afresh for the next."""
        cpu, rss, read, written, cost = self.used(context, elapsed)
        context.cpu, context.bytes_read, context.bytes_written = 0.0, 0, 0
        self.emit(self.event(
            _STEP_RETRY, phase=context.phase, step=context.step_id, plugin=context.plugin,
            status=f"attempt {attempt} of {attempts}", elapsed=delay, error=self.redact(describe(error)), attempt=attempt,
            cpu=cpu, rss=rss, bytes_read=read, bytes_written=written, cost=cost,
            error_type=type(error).__qualname__,
        ))

    def step_reused(self, phase: str, step: str, plugin: str, rows: int | None) -> None:
        self.emit(self.event(_STEP_REUSED, phase=phase, step=step, plugin=plugin, status=SUCCEEDED, rows=rows))

    def step_progress(self, phase: str, step: str, plugin: str, rows: int | None, rows_in: int | None = None) -> None:
        if self.listening:
            self.emit(self.event(_STEP_PROGRESS, phase=phase, step=step, plugin=plugin, rows=rows, rows_in=rows_in))

    def retry_exhausted(
        self, context: PipelineContext, error: BaseException, message: str, attempts: int, step: StepContext | None = None,
        error_type: str | None = None,
    ) -> None:
        """A retry policy ran out on ``error``; ``error_type`` names the exception behind it when
        ``error`` wraps it (a step's failure, on a pipeline's policy)."""
        where: dict[str, Any] = {} if step is None else {"phase": step.phase, "step": step.step_id, "plugin": step.plugin}
        self.emit(self.event(
            _RETRY_EXHAUSTED, status=FAILED, error=self.redact(message), attempts=attempts,
            error_type=error_type or type(error).__qualname__, **where,
        ))
        self.relay.after(
            "on_retry_exhausted", context=context if step is None else step,
            step=None if step is None else step.step_id, error=error, attempts=attempts,
        )

    def close_open_steps(self, status: str, error: BaseException) -> None:
        """Steps still running when the pipeline ended (an interruption, a sibling's failure, the
        pipeline's timeout) end with the pipeline's status; ``on_step_error`` is not theirs."""
        for context, _ in list(self.open_steps.values()):
            self.step_failed(context, error, 0, status, raised=False)
