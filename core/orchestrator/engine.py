"""The engine: schedules the pipeline DAG and keeps the phase contract.

- Pipelines start as soon as their own dependencies succeeded (a true DAG, not waves); a failed
  pipeline skips its dependents and never cancels unrelated ones.
- Extract and load steps run concurrently, bounded by ``concurrency``; transform and
  transform_at_load steps run in order. Sync steps run in worker threads, async ones on the loop.
- A single extract step that returns an iterator streams: batches flow through the transforms into
  every load through bounded buffers (back-pressure), sharing each batch rather than copying it.

Which executor runs a pipeline is looked up by name in the plugin registry.
"""

from __future__ import annotations

import inspect
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AsyncExitStack
from datetime import datetime
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream

from orchestrator.context import PipelineContext, StepContext
from orchestrator.errors import ConfigError, OrchestratorError, Problem, StepError
from orchestrator.events import (
    FAILED,
    INTERRUPTED,
    SKIPPED,
    SUCCEEDED,
    Event,
    EventSink,
    PipelineOutcome,
    RunResult,
    StepOutcome,
    discard,
)
from orchestrator.executors import Executor, PipelineJob
from orchestrator.graph import topological_order, with_dependencies
from orchestrator.model import ExecutorSpec, PipelineSpec, Plan, StepSpec
from orchestrator.phases import EXTRACT, LOAD, TRANSFORM, TRANSFORM_AT_LOAD
from orchestrator.plugins import Plugins
from orchestrator.policies import NONE, describe_seconds
from orchestrator.registry import EXECUTOR

#: Batches buffered per load step while streaming; the producer waits when a buffer is full.
STREAM_BUFFER = 4

_END = object()


class StepFailure(Exception):
    """A step raised; carries which step, so the message can name it."""

    def __init__(self, step: StepSpec, cause: BaseException) -> None:
        self.step = step
        self.cause = cause
        name = f"{step.id!r}" if step.id == step.plugin else f"{step.id!r} ({step.plugin})"
        super().__init__(f"step {name} failed: {describe(cause)}")


def describe(exc: BaseException) -> str:
    """One line for an exception: our own errors by message, others with their type."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, OrchestratorError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def new_run_id() -> str:
    """Sortable and unique enough: ``20261121T110203-3fa9c1``."""
    return f"{datetime.now():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class Engine:
    """Runs a plan's pipelines (or a selection and what it depends on) and returns the result."""

    def __init__(self, plan: Plan, plugins: Plugins, events: EventSink = discard) -> None:
        self.plan = plan
        self.plugins = plugins
        self.emit = events
        self._scope: anyio.CancelScope | None = None

    def run_sync(self, selected: Iterable[str] | None = None, *, run_id: str | None = None) -> RunResult:
        """Run on a fresh event loop (the CLI's and most tests' entry)."""
        results: list[RunResult] = []

        async def main() -> None:
            # The result stays out of the loop's hands: on Python 3.11, asyncio's runner formats
            # the main coroutine's return value when it restores signal handlers, which costs as
            # much as a large run's whole bookkeeping.
            results.append(await self.run(selected, run_id=run_id))

        anyio.run(main)
        return results[0]

    async def run(self, selected: Iterable[str] | None = None, *, run_id: str | None = None) -> RunResult:
        run_id = run_id or new_run_id()
        graph = {name: spec.depends_on for name, spec in self.plan.pipelines.items()}
        names = graph if selected is None else with_dependencies(graph, selected)
        order = [name for name in topological_order(graph) if name in names]
        started = time.perf_counter()
        self.emit(Event("run_started", run_id))
        outcomes: dict[str, PipelineOutcome] = {}
        finished = {name: anyio.Event() for name in order}
        async with AsyncExitStack() as stack:
            executors: dict[str, Executor] = {}
            for name in order:
                spec = self.plan.pipelines[name].executor
                if spec.key not in executors:
                    executors[spec.key] = self._executor(spec)
            self._check_shippable(order, executors)
            for key, executor in executors.items():
                executors[key] = await stack.enter_async_context(executor)
            self._scope = anyio.CancelScope()
            with self._scope:
                async with anyio.create_task_group() as tasks:
                    for name in order:
                        spec = self.plan.pipelines[name]
                        job = PipelineJob(self.plan, spec, run_id, PipelineRunner(self, spec, run_id).run, self.emit)
                        tasks.start_soon(self._schedule, job, executors[spec.executor.key], finished, outcomes, name=name)
        result = RunResult(run_id, {name: outcomes[name] for name in order}, time.perf_counter() - started)
        status = INTERRUPTED if result.interrupted else SUCCEEDED if result.ok else FAILED
        self.emit(Event("run_finished", run_id, status=status, elapsed=result.elapsed))
        return result

    def interrupt(self) -> None:
        """Stop the run: no new step starts, running ones are cancelled (a sync step's thread is
        waited for, unless it has a timeout), and every unfinished pipeline ends as interrupted.
        Call it on the event loop (a signal watcher task, say)."""
        if self._scope is not None:
            self._scope.cancel()

    async def _schedule(
        self,
        job: PipelineJob,
        executor: Executor,
        finished: dict[str, anyio.Event],
        outcomes: dict[str, PipelineOutcome],
    ) -> None:
        name = job.pipeline.name
        try:
            for dep in job.pipeline.depends_on:
                await finished[dep].wait()
            failed = [dep for dep in job.pipeline.depends_on if outcomes[dep].status != SUCCEEDED]
            if failed:
                reason = f"skipped: depends on {', '.join(repr(d) for d in failed)}, which did not succeed"
                outcomes[name] = PipelineOutcome(name, SKIPPED, error=reason)
                self.emit(Event("pipeline_skipped", job.run_id, name, status=SKIPPED, error=reason))
                return
            try:
                outcomes[name] = await executor.submit(job)
            except Exception as exc:  # the executor itself broke: fail this pipeline only
                error = f"executor {job.pipeline.executor.name!r} failed: {describe(exc)}"
                outcomes[name] = PipelineOutcome(name, FAILED, error=error)
                self.emit(Event("pipeline_finished", job.run_id, name, status=FAILED, error=error))
        except anyio.get_cancelled_exc_class():
            if name not in outcomes:  # the run was interrupted before or while this one ran
                outcomes[name] = PipelineOutcome(name, INTERRUPTED, error="interrupted")
                self.emit(Event("pipeline_finished", job.run_id, name, status=INTERRUPTED, error="interrupted"))
            raise
        finally:
            finished[name].set()

    def _check_shippable(self, order: list[str], executors: dict[str, Executor]) -> None:
        """Refuse, before anything runs, to send what cannot cross a process boundary."""
        shipped = [n for n in order if getattr(executors[self.plan.pipelines[n].executor.key], "crosses_processes", False)]
        if not shipped:
            return
        from orchestrator.executors.remote import unshippable

        problems = unshippable(self.plan, self.plugins, shipped)
        if problems:
            source = str(self.plan.source)
            raise ConfigError([Problem(source, 0, "", f"{p}; use the local executor for it") for p in problems])

    def _executor(self, spec: ExecutorSpec) -> Executor:
        entry = self.plugins.registry.get(EXECUTOR, spec.name)
        if entry is None:  # validation reports this; reaching here means a plan built by hand
            raise OrchestratorError(f"unknown executor {spec.name!r}")
        return entry.resolve()(**spec.options)


class PipelineRunner:
    """Runs one pipeline's phases in this process."""

    def __init__(self, engine: Engine, spec: PipelineSpec, run_id: str) -> None:
        self.spec = spec
        self.run_id = run_id
        self.plan = engine.plan
        self.registry = engine.plugins.registry
        self.hook = engine.plugins.hook
        self.emit = engine.emit
        self.context = PipelineContext(run_id, spec.name, self.plan.params, self.plan.base_dir, self.plan.allowed_paths)
        self.steps: list[StepOutcome] = []
        self.tries: dict[str, int] = {}  # attempts of steps that were retried
        self.attempts = 1
        # per-step work is skipped when nobody listens: no event sink, no hook implementations
        self.step_events = engine.emit is not discard
        traced = engine.plugins.tracing
        self.before_step = _listened(self.hook.before_step_run, traced)
        self.after_step = _listened(self.hook.after_step_run, traced)
        self.before_phase = _listened(self.hook.before_phase_run, traced)
        self.after_phase = _listened(self.hook.after_phase_run, traced)

    async def run(self) -> PipelineOutcome:
        name = self.spec.name
        started = time.perf_counter()
        self.emit(Event("pipeline_started", self.run_id, name))
        status, error = SUCCEEDED, None
        try:
            self.hook.before_pipeline_run(context=self.context)
            await self._run_attempts()
        except Exception as exc:
            status = FAILED
            failure = _first_failure(exc)
            error = str(failure) if isinstance(failure, StepFailure) else describe(failure)
            error = self._observe("on_pipeline_error", error, error=failure) or error
        elapsed = time.perf_counter() - started
        hook_error = self._observe("after_pipeline_run", error, status=status, elapsed=elapsed)
        if hook_error:
            status, error = FAILED, hook_error
        self.emit(Event("pipeline_finished", self.run_id, name, status=status, elapsed=elapsed, error=error))
        return PipelineOutcome(name, status, elapsed, error, self.steps, self.attempts)

    def _observe(self, hook: str, so_far: str | None, **kwargs: Any) -> str | None:
        """Call a closing lifecycle hook; a hook that raises fails the pipeline (with both errors
        named) instead of the whole run."""
        try:
            getattr(self.hook, hook)(context=self.context, **kwargs)
        except Exception as exc:
            message = f"lifecycle hook {hook} failed: {describe(exc)}"
            return f"{so_far}; {message}" if so_far else message
        return None

    async def _run_attempts(self) -> None:
        """The phases, under the pipeline's timeout, again from the start under its retry policy."""
        policies = self.spec.policies
        failures = 0
        while True:
            try:
                return await _within(policies.timeout, self._phases)
            except Exception as exc:
                failures += 1
                policy = policies.retry
                failure = _first_failure(exc)
                if policy is None or failures >= policy.attempts or not policy.retries(_cause(failure)):
                    raise
                delay = policy.delay(failures)
                self.emit(
                    Event("pipeline_retry", self.run_id, self.spec.name, status=f"attempt {failures + 1} of {policy.attempts}",
                          elapsed=delay, error=str(failure) if isinstance(failure, StepFailure) else describe(failure))
                )
                self.steps, self.tries, self.attempts = [], {}, failures + 1
                await anyio.sleep(delay)

    async def _phases(self) -> None:
        phases = self.spec.phases
        source = await self._extract(phases[EXTRACT])
        await self._transform_and_load(source, phases.get(TRANSFORM, ()), phases[LOAD])
        if TRANSFORM_AT_LOAD in phases:
            await self._in_order(TRANSFORM_AT_LOAD, phases[TRANSFORM_AT_LOAD])

    # -- steps ---------------------------------------------------------------------------------

    def _start(self, step: StepSpec) -> tuple[StepContext, Callable[..., Any], float]:
        context = StepContext(
            self.run_id, self.spec.name, self.plan.params, self.plan.base_dir, step.phase, step.id, step.plugin,
            self.plan.allowed_paths,
        )
        if self.step_events:
            self.emit(Event("step_started", self.run_id, self.spec.name, step.phase, step.id, step.plugin))
        started = time.perf_counter()
        try:
            function = self.registry.get(step.phase, step.plugin).resolve()  # type: ignore[union-attr]
            if self.before_step is not None:
                self.before_step(context=context, args=step.args)
        except Exception as exc:
            raise self._fail(step, context, started, exc) from exc
        return context, function, started

    def _finish(self, step: StepSpec, context: StepContext, started: float, rows: int | None) -> None:
        elapsed = time.perf_counter() - started
        if self.after_step is not None:
            self.after_step(context=context, rows=rows, elapsed=elapsed)
        self.steps.append(StepOutcome(step.phase, step.id, step.plugin, SUCCEEDED, rows, elapsed, None, self.tries.get(step.id, 1)))
        if self.step_events:
            self.emit(
                Event("step_finished", self.run_id, self.spec.name, step.phase, step.id, step.plugin,
                      status=SUCCEEDED, rows=rows, elapsed=elapsed)
            )

    def _fail(self, step: StepSpec, context: StepContext | None, started: float, exc: BaseException) -> StepFailure:
        if isinstance(exc, StepFailure):  # already recorded where it happened
            return exc
        failure = StepFailure(step, exc)
        cause = exc
        elapsed = time.perf_counter() - started
        if context is not None:
            self.hook.on_step_error(context=context, error=cause)
        self.steps.append(StepOutcome(step.phase, step.id, step.plugin, FAILED, None, elapsed, describe(cause), self.tries.get(step.id, 1)))
        self.emit(
            Event("step_failed", self.run_id, self.spec.name, step.phase, step.id, step.plugin,
                  status=FAILED, elapsed=elapsed, error=describe(cause))
        )
        return failure

    async def _call(self, step: StepSpec, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a step: async ones on the loop, sync ones in a worker thread. A sync step with a
        timeout is abandoned when it times out: its thread finishes on its own, the run goes on."""
        if inspect.iscoroutinefunction(function):
            return await function(*args, **kwargs)
        if inspect.isasyncgenfunction(function):
            return function(*args, **kwargs)
        abandon = step.policies.timeout is not None
        return await anyio.to_thread.run_sync(partial(function, *args, **kwargs), abandon_on_cancel=abandon)

    async def _attempts(self, step: StepSpec, call: Callable[[], Awaitable[Any]], *, retry: bool = True) -> Any:
        """``call()`` under the step's timeout, again under its retry policy after a failure."""
        policies = step.policies
        failures = 0
        while True:
            try:
                return await _within(policies.timeout, call)
            except Exception as exc:
                failures += 1
                policy = policies.retry
                if not retry or policy is None or failures >= policy.attempts or not policy.retries(exc):
                    raise
                delay = policy.delay(failures)
                self.tries[step.id] = failures + 1
                self.emit(
                    Event("step_retry", self.run_id, self.spec.name, step.phase, step.id, step.plugin,
                          status=f"attempt {failures + 1} of {policy.attempts}", elapsed=delay, error=describe(exc))
                )
                await anyio.sleep(delay)

    # -- phases --------------------------------------------------------------------------------

    def _phase(self, phase: str, kind: str, started: float | None = None) -> float:
        now = time.perf_counter()
        if kind == "phase_started":
            if self.before_phase is not None:
                self.before_phase(context=self.context, phase=phase)
            if self.step_events:
                self.emit(Event(kind, self.run_id, self.spec.name, phase))
        else:
            elapsed = now - (started or now)
            if self.after_phase is not None:
                self.after_phase(context=self.context, phase=phase, elapsed=elapsed)
            if self.step_events:
                self.emit(Event(kind, self.run_id, self.spec.name, phase, elapsed=elapsed))
        return now

    async def _extract(self, steps: tuple[StepSpec, ...]) -> BatchSource:
        phase_started = self._phase(EXTRACT, "phase_started")
        if len(steps) == 1:
            step = steps[0]
            context, function, started = self._start(step)
            try:
                result = await self._attempts(step, lambda: self._call(step, function, context, **step.args))
            except Exception as exc:
                raise self._fail(step, context, started, exc) from exc
            if _is_stream(result):
                return BatchSource(self, step, context, started, result, phase_started)
            self._finish(step, context, started, _rows(result))
            self._phase(EXTRACT, "phase_finished", phase_started)
            return BatchSource.single(result)
        outputs: dict[str, Any] = {}

        async def one(step: StepSpec) -> None:
            context, function, started = self._start(step)
            async def call() -> Any:
                result = await self._call(step, function, context, **step.args)
                return await _collect(result) if _is_stream(result) else result

            try:
                result = await self._attempts(step, call)
            except Exception as exc:
                raise self._fail(step, context, started, exc) from exc
            outputs[step.id] = result
            self._finish(step, context, started, _rows(result))

        await self._concurrently(EXTRACT, steps, one)
        self._phase(EXTRACT, "phase_finished", phase_started)
        return BatchSource.single({step.id: outputs[step.id] for step in steps})

    async def _concurrently(self, phase: str, steps: tuple[StepSpec, ...], work: Callable[[StepSpec], Any]) -> None:
        """Run ``work`` for every step, at most ``concurrency`` at a time: that many workers take
        steps from one shared iterator (cheaper than a task and a limiter per step)."""
        if len(steps) == 1:  # the common case needs no task at all
            await work(steps[0])
            return
        pending = iter(steps)

        async def worker() -> None:
            for step in pending:
                await work(step)

        async with anyio.create_task_group() as tasks:
            for index in range(min(self.spec.concurrency_of(phase), len(steps))):
                tasks.start_soon(worker, name=f"{self.spec.name}:{phase}:{index}")

    async def _transform_and_load(
        self, source: BatchSource, transforms: tuple[StepSpec, ...], loads: tuple[StepSpec, ...]
    ) -> None:
        chain = TransformChain(self, transforms)
        if source.batch is not _END:
            data = await chain.apply(source.batch)
            chain.finish()
            await self._load_all(loads, [] if data is None else [data])
            return
        load_started = self._phase(LOAD, "phase_started")
        upstream = _Upstream()
        async with anyio.create_task_group() as tasks:
            streams = []
            for step in loads:
                send, receive = anyio.create_memory_object_stream[Any](STREAM_BUFFER)
                streams.append(send)
                tasks.start_soon(self._load, step, _StreamFeed(receive, upstream), name=f"{self.spec.name}:load:{step.id}")
            async with AsyncExitStack() as closing:
                for send in streams:
                    closing.enter_context(send)
                try:
                    while (batch := await source.next()) is not _END:
                        batch = await chain.apply(batch)
                        if batch is not None:
                            for send in streams:
                                await send.send(batch)
                except BaseException as exc:
                    upstream.error = exc  # loads must fail, not commit a partial stream as complete
                    raise
                chain.finish()
        self._phase(LOAD, "phase_finished", load_started)

    async def _load_all(self, loads: tuple[StepSpec, ...], batches: list[Any]) -> None:
        load_started = self._phase(LOAD, "phase_started")
        await self._concurrently(LOAD, loads, lambda step: self._load(step, batches))
        self._phase(LOAD, "phase_finished", load_started)

    async def _load(self, step: StepSpec, batches: list[Any] | _StreamFeed) -> None:
        context, function, started = self._start(step)
        feed = _AsyncList(batches) if isinstance(batches, list) and inspect.iscoroutinefunction(function) else batches
        try:
            # a load whose input streamed cannot be given it again: no retry then
            report = await self._attempts(
                step, lambda: self._call(step, function, context, _replay(feed), **step.args), retry=isinstance(batches, list)
            )
            rows = _report_rows(report, step)
        except BaseException as exc:
            if isinstance(batches, _StreamFeed):
                batches.close()
            if not isinstance(exc, Exception):
                raise
            raise self._fail(step, context, started, exc) from exc
        self._finish(step, context, started, rows)

    async def _in_order(self, phase: str, steps: tuple[StepSpec, ...]) -> None:
        phase_started = self._phase(phase, "phase_started")
        for step in steps:
            context, function, started = self._start(step)
            try:
                report = await self._attempts(step, lambda: self._call(step, function, context, **step.args))
                rows = _report_rows(report, step)
            except Exception as exc:
                raise self._fail(step, context, started, exc) from exc
            self._finish(step, context, started, rows)
        self._phase(phase, "phase_finished", phase_started)


class BatchSource:
    """The extract phase's output: one in-memory batch, or a stream pulled batch by batch."""

    def __init__(
        self,
        runner: PipelineRunner | None,
        step: StepSpec | None,
        context: StepContext | None,
        started: float,
        stream: Any,
        phase_started: float,
    ) -> None:
        self.runner, self.step, self.context = runner, step, context
        self.started, self.phase_started = started, phase_started
        self.stream = stream
        self.batch: Any = _END
        self.rows: int | None = 0

    @classmethod
    def single(cls, batch: Any) -> BatchSource:
        source = cls(None, None, None, 0.0, None, 0.0)
        source.batch = batch
        return source

    async def next(self) -> Any:
        """The next batch, or ``_END`` once the stream is exhausted (which finishes the step)."""
        runner, step = self.runner, self.step
        assert runner is not None and step is not None and self.stream is not None
        stream, timeout = self.stream, step.policies.timeout
        try:
            if hasattr(stream, "__anext__"):
                batch = await _within(timeout, lambda: anext(stream, _END))
            else:
                batch = await _within(
                    timeout, lambda: anyio.to_thread.run_sync(next, stream, _END, abandon_on_cancel=timeout is not None)
                )
        except Exception as exc:
            raise runner._fail(step, self.context, self.started, exc) from exc
        if batch is _END:
            self.stream = None
            runner._finish(step, self.context, self.started, self.rows)  # type: ignore[arg-type]
            runner._phase(EXTRACT, "phase_finished", self.phase_started)
            return _END
        counted = _rows(batch)
        self.rows = None if counted is None or self.rows is None else self.rows + counted
        return batch


class TransformChain:
    """The transform phase, applied batch by batch. Consecutive sync transforms share one trip to
    a worker thread per batch, which keeps per-step overhead to a function call."""

    def __init__(self, runner: PipelineRunner, steps: tuple[StepSpec, ...]) -> None:
        self.runner = runner
        self.steps = steps
        self.started_phase: float | None = None
        self.state: list[tuple[StepContext, Callable[..., Any], float]] = []
        self.rows: list[int | None] = [0] * len(steps)
        self.groups: list[tuple[bool, list[int]]] = []

    def _begin(self) -> None:
        self.started_phase = self.runner._phase(TRANSFORM, "phase_started")
        for index, step in enumerate(self.steps):
            self.state.append(self.runner._start(step))
            # a step with a retry or timeout is called on its own, through the runner's policies
            is_async = inspect.iscoroutinefunction(self.state[-1][1]) or step.policies != NONE
            if self.groups and self.groups[-1][0] == is_async:
                self.groups[-1][1].append(index)
            else:
                self.groups.append((is_async, [index]))

    async def apply(self, batch: Any) -> Any:
        if not self.steps:
            return batch
        if self.started_phase is None:
            self._begin()
        for is_async, indexes in self.groups:
            if is_async:
                for index in indexes:
                    batch = await self._one_async(index, batch)
                    if batch is None:
                        return None
            else:
                try:
                    batch = await anyio.to_thread.run_sync(self._sync_group, indexes, batch)
                except _InGroup as failed:
                    context, _, started = self.state[failed.index]
                    step = self.steps[failed.index]
                    raise self.runner._fail(step, context, started, failed.cause) from failed.cause
                if batch is None:
                    return None
        return batch

    async def _one_async(self, index: int, batch: Any) -> Any:
        context, function, started = self.state[index]
        step = self.steps[index]
        try:
            batch = await self.runner._attempts(step, lambda: self.runner._call(step, function, context, batch, **step.args))
        except Exception as exc:
            raise self.runner._fail(step, context, started, exc) from exc
        self._count(index, batch)
        return batch

    def _sync_group(self, indexes: list[int], batch: Any) -> Any:
        for index in indexes:
            context, function, _ = self.state[index]
            try:
                batch = function(context, batch, **self.steps[index].args)
            except Exception as exc:
                raise _InGroup(index, exc) from exc
            self._count(index, batch)
            if batch is None:
                return None
        return batch

    def _count(self, index: int, batch: Any) -> None:
        counted = _rows(batch) if batch is not None else 0
        previous = self.rows[index]
        self.rows[index] = None if counted is None or previous is None else previous + counted

    def finish(self) -> None:
        if not self.steps:
            return
        if self.started_phase is None:  # no batch at all: the steps still ran, on nothing
            self._begin()
        for index, step in enumerate(self.steps):
            context, _, started = self.state[index]
            self.runner._finish(step, context, started, self.rows[index])
        self.runner._phase(TRANSFORM, "phase_finished", self.started_phase)


class _InGroup(Exception):
    def __init__(self, index: int, cause: BaseException) -> None:
        self.index, self.cause = index, cause


class UpstreamFailed(OrchestratorError):
    """Raised into a load step whose input stream stopped because an earlier step failed."""


class _Upstream:
    """Shared between the producer of a stream and its loads: the error that stopped it, if any."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: BaseException | None = None


class _StreamFeed:
    """A load step's view of the stream: iterable from a worker thread (sync loads) or on the
    loop (async loads). When the producer failed, the end of the stream raises
    :class:`UpstreamFailed` instead, so the load rolls back rather than finishing a partial input."""

    def __init__(self, stream: ObjectReceiveStream[Any], upstream: _Upstream) -> None:
        self.stream = stream
        self.upstream = upstream

    async def _next(self) -> Any:
        try:
            return await self.stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self.upstream.error is not None:
                raise UpstreamFailed("stopped: an earlier step of the pipeline failed") from None
            return _END

    def close(self) -> None:
        self.stream.close()

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        batch = anyio.from_thread.run(self._next)
        if batch is _END:
            raise StopIteration
        return batch

    def __aiter__(self) -> _StreamFeed:
        return self

    async def __anext__(self) -> Any:
        batch = await self._next()
        if batch is _END:
            raise StopAsyncIteration
        return batch


class _AsyncList:
    """An async iterator over an in-memory list of batches, for async loads."""

    def __init__(self, batches: list[Any]) -> None:
        self.batches = batches
        self._items = iter(batches)

    def __aiter__(self) -> _AsyncList:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._items)
        except StopIteration:
            raise StopAsyncIteration from None


def _is_stream(value: Any) -> bool:
    return hasattr(value, "__anext__") or (hasattr(value, "__next__") and not isinstance(value, (str, bytes)))


async def _collect(stream: Any) -> Any:
    """Everything a stream yields: one list when every batch is a list, else the list of batches."""
    batches: list[Any] = []
    if hasattr(stream, "__anext__"):
        async for batch in stream:
            batches.append(batch)
    else:
        batches = await anyio.to_thread.run_sync(list, stream)
    if all(isinstance(b, list) for b in batches):
        return [row for batch in batches for row in batch]
    return batches


def _rows(data: Any) -> int | None:
    """Rows in a batch: its length for a list or tuple, ``num_rows`` for columnar tables."""
    if data is None:
        return 0
    if isinstance(data, (list, tuple)):
        return len(data)
    rows = getattr(data, "num_rows", None)
    return rows if isinstance(rows, int) else None


def _report_rows(report: Any, step: StepSpec) -> int | None:
    if report is None:
        return None
    if isinstance(report, bool) or not isinstance(report, (int, dict)):
        raise StepError(
            f"returned {type(report).__name__}; a {step.phase} step returns the number of rows, "
            "a mapping with a 'rows' key, or None"
        )
    if isinstance(report, dict):
        rows = report.get("rows")
        return rows if isinstance(rows, int) else None
    return report


class StepTimeout(OrchestratorError):
    """A step (or pipeline) took longer than its ``timeout``."""


async def _within(timeout: float | None, call: Callable[[], Awaitable[Any]]) -> Any:
    """``await call()``, failing with :class:`StepTimeout` after ``timeout`` seconds."""
    if timeout is None:
        return await call()
    try:
        with anyio.fail_after(timeout):
            return await call()
    except TimeoutError:
        raise StepTimeout(f"timed out after {describe_seconds(timeout)}") from None


def _replay(feed: Any) -> Any:
    """A load's input for one attempt: a fresh iterator over in-memory batches each time."""
    if isinstance(feed, list):
        return list(feed)
    if isinstance(feed, _AsyncList):
        return _AsyncList(feed.batches)
    return feed


def _cause(error: BaseException) -> BaseException:
    return error.cause if isinstance(error, StepFailure) else error


def _listened(caller: Any, always: bool) -> Any:
    """The hook caller, or None when no plugin implements the hook (and nobody traces calls)."""
    return caller if always or caller.get_hookimpls() else None


def _first_failure(exc: BaseException) -> BaseException:
    """The error to report for a pipeline: the first step failure inside any exception group."""
    if isinstance(exc, BaseExceptionGroup):
        found = [_first_failure(e) for e in exc.exceptions]
        steps = [e for e in found if isinstance(e, StepFailure)]
        causes = [e for e in steps if not isinstance(e.cause, UpstreamFailed)]
        return (causes or steps or found)[0]
    return exc
