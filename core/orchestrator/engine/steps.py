"""Calling a step: :class:`StepRun` owns one step of one pipeline attempt from start to end (its
context, the call, the timeout, the retries, and recording its start and end), and
:func:`retrying` is the one retry loop, used for steps and for whole pipelines."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from orchestrator.config.policies import Policies, describe_seconds
from orchestrator.context import StepContext
from orchestrator.daemon_threads import on_daemon_thread
from orchestrator.engine.batches import UpstreamFailed
from orchestrator.engine.deaths import in_thread, on_loop
from orchestrator.engine.prints import CURRENT_STEP
from orchestrator.engine.usage import ACCOUNTING, metered, metered_call
from orchestrator.errors import OrchestratorError, describe

if TYPE_CHECKING:
    from orchestrator.config.model import StepSpec
    from orchestrator.engine.views import PipelineView


class StepTimeout(OrchestratorError):
    """A step (or pipeline) took longer than its ``timeout``."""


class StepFailure(Exception):
    """A step raised; carries which step, so the message can name it."""

    def __init__(self, step: StepSpec, cause: BaseException) -> None:
        self.step = step
        self.cause = cause
        name = f"{step.id!r}" if step.id == step.plugin else f"{step.id!r} ({step.plugin})"
        super().__init__(f"step {name} failed: {describe(cause)}")


async def within(timeout: float | None, call: Callable[[], Awaitable[Any]]) -> Any:
    """``await call()``, failing with :class:`StepTimeout` after ``timeout`` seconds."""
    if timeout is None:
        return await call()
    try:
        with anyio.fail_after(timeout):
            return await call()
    except TimeoutError:
        raise StepTimeout(f"timed out after {describe_seconds(timeout)}") from None


def explain(error: BaseException) -> str:
    """The one-line text of a failure: a step's names the step."""
    return str(error) if isinstance(error, StepFailure) else describe(error)


def cause_of(error: BaseException) -> BaseException:
    """What a retry policy judges: the step's own error, not the wrapper naming the step."""
    return error.cause if isinstance(error, StepFailure) else error


def first_failure(exc: BaseException) -> BaseException:
    """The error to report for a pipeline: the first step failure inside any exception group
    (a failure that stopped another step's stream is reported after the one that caused it)."""
    if isinstance(exc, BaseExceptionGroup):
        found = [first_failure(e) for e in exc.exceptions]
        steps = [e for e in found if isinstance(e, StepFailure)]
        causes = [e for e in steps if not isinstance(e.cause, UpstreamFailed)]
        return (causes or steps or found)[0]
    return exc


async def retrying(
    policies: Policies,
    call: Callable[[], Awaitable[Any]],
    *,
    on_retry: Callable[[BaseException, int, int, float], None],
    on_exhausted: Callable[[BaseException, int], None],
    failure: Callable[[BaseException], BaseException] = lambda error: error,
    retry: bool = True,
) -> Any:
    """``call()`` under the policies' timeout, called again under their retry policy while it
    fails with an error the policy retries. ``failure`` picks the error to judge and report from
    what was raised; ``on_retry(error, next attempt, attempts, delay)`` is told before each wait,
    ``on_exhausted(error, attempts)`` when the policy ran out (not when it allows one attempt)."""
    failures = 0
    while True:
        try:
            return await within(policies.timeout, call)
        except Exception as exc:
            failures += 1
            policy = policies.retry
            error = failure(exc)
            if not retry or policy is None or not policy.retries(cause_of(error)):
                raise
            if failures >= policy.attempts:
                if failures > 1:
                    on_exhausted(error, failures)
                raise
            delay = policy.delay(failures)
            on_retry(error, failures + 1, policy.attempts, delay)
            await anyio.sleep(delay)


class StepRun:
    """One step of one pipeline attempt. :meth:`start` records its start (event and
    ``before_step_run``) and resolves its function; :meth:`attempt` calls it under its policies;
    :meth:`finish` or :meth:`fail` records its end. A streamed step is called once per batch
    between its start and its end."""

    __slots__ = ("attempt_number", "attempt_started", "context", "function", "runner", "step")

    def __init__(self, runner: PipelineView, step: StepSpec) -> None:
        self.runner = runner
        self.step = step
        self.attempt_number = 1
        self.attempt_started = 0.0
        self.function: Callable[..., Any] = _unresolved
        self.context = StepContext(
            runner.run_id, runner.spec.name, runner.plan.params, runner.plan.base_dir, step.phase, step.id, step.plugin,
            runner.plan.allowed_paths, on_error=step.on_error, dead_letters=runner.dead_letters,
            load_id=None if runner.replaying is None else runner.load_id(step),
            replaying=runner.replaying is not None, trace_context=runner.context.trace_context,
        )

    def start(self) -> StepRun:
        step = self.step
        try:
            self.attempt_started = time.perf_counter()
            self.runner.record.step_started(self.context, step.args, self.attempt_started)
            self.function = self.runner.registry.get(step.phase, step.plugin).resolve()  # type: ignore[union-attr]
        except Exception as exc:
            raise self.fail(exc) from exc
        return self

    @property
    def is_async(self) -> bool:
        return _kind(self.function) is _COROUTINE

    async def call(self, *args: Any) -> Any:
        """Call the step once with its context, ``args`` and its configured args: async ones on
        the loop, sync ones in a worker thread, the CPU time of either counted to the step (see
        :mod:`orchestrator.engine.usage`). A sync step with a timeout is abandoned when it times
        out: its thread finishes on its own, the run goes on."""
        function = self.function
        kind = _kind(function)
        if kind is _ASYNC_GENERATOR:
            return function(self.context, *args, **self.step.args)
        running = CURRENT_STEP.set(self.context)  # what it prints is its log (followed into threads)
        try:
            if kind is _COROUTINE:
                called = on_loop(function(self.context, *args, **self.step.args))
                return await (metered(called, self.context) if ACCOUNTING.on else called)
            call = in_thread(partial(function, self.context, *args, **self.step.args))
            if ACCOUNTING.on:
                call = metered_call(call, self.context)
            if self.step.policies.timeout is not None:  # may be abandoned: a thread the exit does not wait for
                return await on_daemon_thread(call)
            return await anyio.to_thread.run_sync(call)
        finally:
            CURRENT_STEP.reset(running)

    async def attempt(self, call: Callable[[], Awaitable[Any]] | None = None, *, retry: bool = True) -> Any:
        """``call()`` (by default: the step with no input) under the step's timeout and retries."""
        return await retrying(
            self.step.policies, call or self.call, on_retry=self._retried, on_exhausted=self._exhausted, retry=retry
        )

    def _retried(self, error: BaseException, attempt: int, attempts: int, delay: float) -> None:
        self.attempt_number = attempt
        now = time.perf_counter()
        elapsed, self.attempt_started = now - self.attempt_started, now + delay
        self.runner.record.step_retry(self.context, error, attempt, attempts, delay, elapsed)

    def _exhausted(self, error: BaseException, attempts: int) -> None:
        self.runner.record.retry_exhausted(self.runner.context, error, describe(error), attempts, self.context)

    def finish(self, rows: int | None, rows_in: int | None = None) -> None:
        self.runner.record.step_finished(self.context, rows, rows_in, self.attempt_number)

    def fail(self, exc: BaseException) -> StepFailure:
        """Record that the step raised ``exc``; the failure to raise, naming the step."""
        if isinstance(exc, StepFailure):  # already recorded where it happened
            return exc
        self.runner.record.step_failed(self.context, exc, self.attempt_number)
        return StepFailure(self.step, exc)


def _unresolved(*args: Any, **kwargs: Any) -> Any:
    raise OrchestratorError("a step was called before it started")


#: how a step's function is called: on the loop (a coroutine function), as an async generator, or in
#: a worker thread
_COROUTINE, _ASYNC_GENERATOR, _SYNC = "coroutine", "async generator", "sync"
#: the kind of each plugin function seen, decided once: inspecting it costs more than a trivial
#: step's call, and every step of every pipeline asks. The keys are the registry's plugin
#: functions, a set as small as the plugins installed.
_kinds: dict[Any, str] = {}


def _kind(function: Callable[..., Any]) -> str:
    try:
        return _kinds[function]
    except KeyError:
        pass
    except TypeError:  # a callable that cannot be a key: inspected every time
        return _inspected(function)
    kind = _kinds[function] = _inspected(function)
    return kind


def _inspected(function: Callable[..., Any]) -> str:
    if inspect.isasyncgenfunction(function):
        return _ASYNC_GENERATOR
    return _COROUTINE if inspect.iscoroutinefunction(function) else _SYNC
