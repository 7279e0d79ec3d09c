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
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import AsyncExitStack
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from orchestrator.batches import (
    END,
    AsyncList,
    StreamFeed,
    Upstream,
    UpstreamFailed,
    collect,
    fresh_input,
    is_stream,
    plus,
    report_rows,
    row_count,
)
from orchestrator.config.graph import topological_order, with_dependencies
from orchestrator.config.interpolate import redactor
from orchestrator.config.model import ExecutorSpec, PipelineSpec, Plan, StepSpec
from orchestrator.config.phases import EXTRACT, LOAD, TRANSFORM, TRANSFORM_AT_LOAD
from orchestrator.config.policies import FAIL, NONE
from orchestrator.context import PipelineContext, StepContext
from orchestrator.errors import (
    ConfigError,
    OrchestratorError,
    Problem,
    StepError,
    describe,
)
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
from orchestrator.plugins.discovery import Plugins
from orchestrator.plugins.registry import EXECUTOR
from orchestrator.runstate.checkpoints import (
    Checkpoints,
    held,
    is_tiny,
    recover,
    remove_run,
)
from orchestrator.runstate.deadletters import (
    DeadLetterFile,
    pipeline_file,
    rows_by_step,
    source_run,
    uses_dead_letters,
)
from orchestrator.runstate.layout import DEAD_LETTERS
from orchestrator.runstate.progress import Continuation, Progress
from orchestrator.timeouts import within

#: Batches buffered per load step while streaming; the producer waits when a buffer is full.
STREAM_BUFFER = 4


#: how a pipeline of a fresh run without checkpoints goes on: from the start
NEW = Continuation()


class StepFailure(Exception):
    """A step raised; carries which step, so the message can name it."""

    def __init__(self, step: StepSpec, cause: BaseException) -> None:
        self.step = step
        self.cause = cause
        name = f"{step.id!r}" if step.id == step.plugin else f"{step.id!r} ({step.plugin})"
        super().__init__(f"step {name} failed: {describe(cause)}")


def new_run_id() -> str:
    """Sortable and unique enough: ``20261121T110203-3fa9c1``."""
    return f"{datetime.now():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class Engine:
    """Runs a plan's pipelines (or a selection and what it depends on) and returns the result."""

    def __init__(
        self, plan: Plan, plugins: Plugins, events: EventSink = discard, *,
        checkpoints: Path | None = None, dead_letters: Path | None = None,
    ) -> None:
        """``checkpoints`` is the folder where pipelines keep their phase outputs for a resume
        (``<state directory>/checkpoints``); None keeps none. ``dead_letters`` is the folder of
        the rows steps dead-letter (``<state directory>/dead-letters``; by default
        ``.orchestrator/dead-letters`` beside the pipeline file)."""
        self.plan = plan
        self.plugins = plugins
        self.emit = events
        self.checkpoints = checkpoints
        self.dead_letters = dead_letters or plan.base_dir / ".orchestrator" / DEAD_LETTERS
        self._scope: anyio.CancelScope | None = None

    def run_sync(
        self, selected: Iterable[str] | None = None, *, run_id: str | None = None, resume: Progress | None = None,
        replay: Mapping[str, Path] | None = None,
    ) -> RunResult:
        """Run on a fresh event loop (the CLI's and most tests' entry)."""
        results: list[RunResult] = []

        async def main() -> None:
            # The result stays out of the loop's hands: on Python 3.11, asyncio's runner formats
            # the main coroutine's return value when it restores signal handlers, which costs as
            # much as a large run's whole bookkeeping.
            results.append(await self.run(selected, run_id=run_id, resume=resume, replay=replay))

        anyio.run(main)
        return results[0]

    async def run(
        self, selected: Iterable[str] | None = None, *, run_id: str | None = None, resume: Progress | None = None,
        replay: Mapping[str, Path] | None = None,
    ) -> RunResult:
        """Run the pipelines. ``resume`` continues run ``run_id`` from what its earlier attempt
        completed: succeeded pipelines are not run again, the others go on from their checkpoints
        and skip the loads that completed. ``replay`` (pipeline: an earlier run's dead-letter
        file) runs only those pipelines, on their dead-lettered rows (see
        :meth:`PipelineRunner._replay_dead_letters`)."""
        run_id = run_id or new_run_id()
        graph = {name: spec.depends_on for name, spec in self.plan.pipelines.items()}
        names = graph if selected is None else with_dependencies(graph, selected)
        if replay is not None:  # what the replayed pipelines depend on is not run again
            names = {name for name in names if name in replay}
        order = [name for name in topological_order(graph) if name in names]
        started = time.perf_counter()
        self.emit(Event("run_started", run_id))
        outcomes: dict[str, PipelineOutcome] = {}
        finished = {name: anyio.Event() for name in order}
        if resume is not None:
            for name in resume.pipelines.intersection(order):
                outcomes[name] = PipelineOutcome(name, SUCCEEDED)
                finished[name].set()
                self.emit(Event("pipeline_reused", run_id, name, status=SUCCEEDED))
        pending = [name for name in order if name not in outcomes]
        if resume is not None and self.checkpoints is not None:
            recover(self.checkpoints / run_id)
        async with AsyncExitStack() as stack:
            executors: dict[str, Executor] = {}
            for name in pending:
                chosen = self.plan.pipelines[name].executor
                if chosen.key not in executors:
                    executors[chosen.key] = self._executor(chosen)
            self._check_shippable(pending, executors)
            for key, executor in executors.items():
                executors[key] = await stack.enter_async_context(executor)
            if self.checkpoints is not None and replay is None and any(self.plan.pipelines[n].checkpoint for n in pending):
                stack.enter_context(held(self.checkpoints / run_id))
            self._scope = anyio.CancelScope()
            with self._scope:
                async with anyio.create_task_group() as tasks:
                    for name in pending:
                        spec = self.plan.pipelines[name]
                        continuation = self._continuation(run_id, spec, resume, replay)
                        runner = PipelineRunner(self, spec, run_id, continuation)
                        job = PipelineJob(self.plan, spec, run_id, runner.run, self.emit, continuation)
                        tasks.start_soon(self._schedule, job, executors[spec.executor.key], finished, outcomes, name=name)
        result = RunResult(run_id, {name: outcomes[name] for name in order}, time.perf_counter() - started)
        if self.checkpoints is not None and result.ok:
            remove_run(self.checkpoints / run_id)
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
        submitted: float | None = None
        try:
            depends_on = [dep for dep in job.pipeline.depends_on if dep in finished]  # the others are not in this run
            for dep in depends_on:
                await finished[dep].wait()
            failed = [dep for dep in depends_on if outcomes[dep].status != SUCCEEDED]
            if failed:
                reason = f"skipped: depends on {', '.join(repr(d) for d in failed)}, which did not succeed"
                outcomes[name] = PipelineOutcome(name, SKIPPED, error=reason)
                self.emit(Event("pipeline_skipped", job.run_id, name, status=SKIPPED, error=reason))
                return
            submitted = time.perf_counter()
            try:
                outcomes[name] = await executor.submit(job)
            except Exception as exc:  # the executor itself broke: fail this pipeline only
                error = f"executor {job.pipeline.executor.name!r} failed: {describe(exc)}"
                outcomes[name] = PipelineOutcome(name, FAILED, error=error)
                self.emit(Event("pipeline_finished", job.run_id, name, status=FAILED, error=error))
        except anyio.get_cancelled_exc_class():
            if name not in outcomes:  # the run was interrupted before or while this one ran
                elapsed = 0.0 if submitted is None else time.perf_counter() - submitted
                outcomes[name] = PipelineOutcome(name, INTERRUPTED, elapsed, "interrupted")
                self.emit(Event("pipeline_finished", job.run_id, name, status=INTERRUPTED, elapsed=elapsed, error="interrupted"))
            raise
        finally:
            finished[name].set()

    def _continuation(
        self, run_id: str, spec: PipelineSpec, resume: Progress | None, replay: Mapping[str, Path] | None
    ) -> Continuation:
        letters = pipeline_file(self.dead_letters, run_id, spec.name) if uses_dead_letters(spec) else None
        if replay is not None:  # rows only: nothing is extracted, so nothing is checkpointed
            return Continuation(dead_letters=letters, replay_dead_letters=replay[spec.name])
        folder = self.checkpoints / run_id if self.checkpoints is not None and spec.checkpoint else None
        if resume is None:
            return Continuation(checkpoints=folder, dead_letters=letters) if folder is not None or letters is not None else NEW
        return Continuation(resume.done(spec.name), folder, resumed=True, dead_letters=letters)

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
        executor: Executor = entry.resolve()(**spec.options)
        return executor


class PipelineRunner:
    """Runs one pipeline's phases in this process."""

    def __init__(self, engine: Engine, spec: PipelineSpec, run_id: str, continuation: Continuation | None = None) -> None:
        continuation = continuation or NEW
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
        self.done = continuation.done
        self.loading: TransformChain | None = None  # what feeds the loads, and counts their input
        self.resumed = continuation.resumed
        self.dead_letters = (
            None if continuation.dead_letters is None else DeadLetterFile(continuation.dead_letters, redactor(self.plan.secrets))
        )
        self.replaying = continuation.replay_dead_letters
        self.checkpoints = None if continuation.checkpoints is None else Checkpoints(continuation.checkpoints, spec.name, resumed=continuation.resumed)
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
        if self.checkpoints is not None:
            if status == SUCCEEDED:
                self.checkpoints.discard()  # kept only for resuming a pipeline that did not finish
            self.checkpoints.release()
        letters = None
        if self.dead_letters is not None:
            self.dead_letters.close()
            letters = str(self.dead_letters.path) if self.dead_letters.path.is_file() else None
        self.emit(Event("pipeline_finished", self.run_id, name, status=status, elapsed=elapsed, error=error))
        return PipelineOutcome(name, status, elapsed, error, self.steps, self.attempts, letters)

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
                await within(policies.timeout, self._phases)
                return
            except Exception as exc:
                failures += 1
                policy = policies.retry
                failure = _first_failure(exc)
                if policy is None or failures >= policy.attempts or not policy.retries(_cause(failure)):
                    if policy is not None and policy.retries(_cause(failure)):
                        self._exhausted(None, failure, failures)
                    raise
                delay = policy.delay(failures)
                self.emit(
                    Event("pipeline_retry", self.run_id, self.spec.name, status=f"attempt {failures + 1} of {policy.attempts}",
                          elapsed=delay, error=str(failure) if isinstance(failure, StepFailure) else describe(failure))
                )
                self.steps, self.tries, self.attempts = [], {}, failures + 1
                if self.checkpoints is not None:  # a pipeline retry starts again from the extract
                    self.checkpoints.discard(again=True)
                    self.resumed = False
                await anyio.sleep(delay)

    async def _phases(self) -> None:
        if self.replaying is not None:
            await self._replay_dead_letters(self.replaying)
            return
        phases = self.spec.phases
        extracts, transforms = phases[EXTRACT], phases.get(TRANSFORM, ())
        loads = tuple(step for step in phases[LOAD] if not self._reused(step))
        if loads:
            source, transforms = await self._load_input(extracts, transforms)
            await self._transform_and_load(source, transforms, loads)
        else:  # every load completed in an earlier attempt: nothing needs the data again
            for step in (*extracts, *transforms):
                self._reused(step, always=True)
        if TRANSFORM_AT_LOAD in phases:
            await self._in_order(TRANSFORM_AT_LOAD, tuple(s for s in phases[TRANSFORM_AT_LOAD] if not self._reused(s)))

    def _reused(self, step: StepSpec, *, always: bool = False) -> bool:
        """Whether the step completed in an earlier attempt of the run (then it is reported as
        reused, not run again)."""
        if step.id not in self.done and not always:
            return False
        rows = self.done.get(step.id)
        self.steps.append(StepOutcome(step.phase, step.id, step.plugin, SUCCEEDED, rows, 0.0, None, 0))
        self.emit(Event("step_reused", self.run_id, self.spec.name, step.phase, step.id, step.plugin, status=SUCCEEDED, rows=rows))
        return True

    async def _load_input(
        self, extracts: tuple[StepSpec, ...], transforms: tuple[StepSpec, ...]
    ) -> tuple[Any, tuple[StepSpec, ...]]:
        """Where the loads' data comes from, and the transforms still to apply to it: a resumed
        pipeline starts from its last complete checkpoint, any other extracts."""
        kept = self.checkpoints
        if kept is not None and self.resumed:
            for phase, remaining in ((TRANSFORM, ()), (EXTRACT, transforms)):
                if (phase == EXTRACT or transforms) and kept.complete(phase):
                    for step in (*extracts, *transforms[: len(transforms) - len(remaining)]):
                        self._reused(step, always=True)
                    return await _Replay.of(kept, phase), remaining
        return await self._extract(extracts), transforms

    async def _replay_dead_letters(self, path: Path) -> None:
        """Run the rows an earlier run dead-lettered (``path``) again, each from the step that
        rejected it: a transform's rows through that transform and the ones after it (joined by
        the rows the later transforms rejected, at their own step), then into every load; a
        load's rows into that load alone. Extract and transform_at_load steps do not run.

        Every load gets the same batches on every replay of a run (the transformed rows, then
        its own), so an idempotent load skips what an earlier replay of the run committed."""
        rows = await anyio.to_thread.run_sync(rows_by_step, path)
        transforms = self.spec.phases.get(TRANSFORM, ())
        first = next((index for index, step in enumerate(transforms) if step.id in rows), None)
        batches: list[Any] = []
        if first is not None:
            chain = TransformChain(self, transforms[first:], {i: rows[s.id] for i, s in enumerate(transforms[first:]) if s.id in rows})
            data = await chain.apply([])
            chain.finish()
            batches.append([] if data is None else data)
        loads = tuple(step for step in self.spec.phases[LOAD] if batches or step.id in rows)
        feeds = {step.id: batches + [rows[step.id]] if step.id in rows else batches for step in loads}
        await self._load_all(loads, batches, feeds)

    # -- steps ---------------------------------------------------------------------------------

    def _start(self, step: StepSpec) -> tuple[StepContext, Callable[..., Any], float]:
        context = StepContext(
            self.run_id, self.spec.name, self.plan.params, self.plan.base_dir, step.phase, step.id, step.plugin,
            self.plan.allowed_paths, on_error=step.on_error, dead_letters=self.dead_letters,
            # a replay loads as the run it replays, so replaying that run again skips what this one committed
            load_id=None if self.replaying is None else f"{source_run(self.replaying)}/{self.spec.name}/{step.id}/replay",
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

    def _finish(self, step: StepSpec, context: StepContext, started: float, rows: int | None, rows_in: int | None = None) -> None:
        elapsed = time.perf_counter() - started
        if self.after_step is not None:
            self.after_step(context=context, rows=rows, elapsed=elapsed)
        rejected = context.rejected
        self.steps.append(
            StepOutcome(step.phase, step.id, step.plugin, SUCCEEDED, rows, elapsed, None, self.tries.get(step.id, 1), rejected)
        )
        if self.step_events:
            self.emit(
                Event("step_finished", self.run_id, self.spec.name, step.phase, step.id, step.plugin,
                      status=SUCCEEDED, rows=rows, elapsed=elapsed, rejected=rejected or None, rows_in=rows_in)
            )

    def _fail(self, step: StepSpec, context: StepContext | None, started: float, exc: BaseException) -> StepFailure:
        if isinstance(exc, StepFailure):  # already recorded where it happened
            return exc
        failure = StepFailure(step, exc)
        cause = exc
        elapsed = time.perf_counter() - started
        if context is not None:
            self.hook.on_step_error(context=context, error=cause)
        rejected = 0 if context is None else context.rejected
        self.steps.append(
            StepOutcome(step.phase, step.id, step.plugin, FAILED, None, elapsed, describe(cause), self.tries.get(step.id, 1), rejected)
        )
        self.emit(
            Event("step_failed", self.run_id, self.spec.name, step.phase, step.id, step.plugin,
                  status=FAILED, elapsed=elapsed, error=describe(cause), rejected=rejected or None)
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
                return await within(policies.timeout, call)
            except Exception as exc:
                failures += 1
                policy = policies.retry
                if not retry or policy is None or failures >= policy.attempts or not policy.retries(exc):
                    if retry and policy is not None and policy.retries(exc):
                        self._exhausted(step, exc, failures)
                    raise
                delay = policy.delay(failures)
                self.tries[step.id] = failures + 1
                self.emit(
                    Event("step_retry", self.run_id, self.spec.name, step.phase, step.id, step.plugin,
                          status=f"attempt {failures + 1} of {policy.attempts}", elapsed=delay, error=describe(exc))
                )
                await anyio.sleep(delay)

    def _exhausted(self, step: StepSpec | None, error: BaseException, attempts: int) -> None:
        """A retry policy ran out (of a step, or of the pipeline when ``step`` is None): the
        ``retry_exhausted`` event and the ``on_retry_exhausted`` hook. One attempt is no retry."""
        if attempts < 2:
            return
        message = str(error) if isinstance(error, StepFailure) else describe(error)
        context: PipelineContext = self.context
        if step is None:
            self.emit(Event("retry_exhausted", self.run_id, self.spec.name, status=FAILED, error=message, attempts=attempts))
        else:
            self.emit(Event("retry_exhausted", self.run_id, self.spec.name, step.phase, step.id, step.plugin,
                            status=FAILED, error=message, attempts=attempts))
            context = StepContext(self.run_id, self.spec.name, self.plan.params, self.plan.base_dir, step.phase, step.id,
                                  step.plugin, self.plan.allowed_paths)
        try:
            self.hook.on_retry_exhausted(context=context, step=None if step is None else step.id, error=error, attempts=attempts)
        except Exception as exc:
            raise OrchestratorError(f"{message}; lifecycle hook on_retry_exhausted failed: {describe(exc)}") from error

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
            if is_stream(result):
                return BatchSource(self, step, context, started, result, phase_started)
            self._finish(step, context, started, row_count(result))
            self._phase(EXTRACT, "phase_finished", phase_started)
            return BatchSource.single(result)
        outputs: dict[str, Any] = {}

        async def one(step: StepSpec) -> None:
            context, function, started = self._start(step)
            async def call() -> Any:
                result = await self._call(step, function, context, **step.args)
                return await collect(result) if is_stream(result) else result

            try:
                result = await self._attempts(step, call)
            except Exception as exc:
                raise self._fail(step, context, started, exc) from exc
            outputs[step.id] = result
            self._finish(step, context, started, row_count(result))

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
        chain = self.loading = TransformChain(self, transforms)
        replayed = isinstance(source, _Replay)
        # the loads' input is kept, unless it is itself a checkpoint read back
        keep = None if self.checkpoints is None or (replayed and not transforms) else TRANSFORM if transforms else EXTRACT
        if source.batch is not END:
            if keep == TRANSFORM and not replayed:  # the extract output too: a resume can skip extracting
                await self._keep(partial(self.checkpoints.keep_whole, EXTRACT, source.batch), is_tiny(source.batch))  # type: ignore[union-attr]
            data = await chain.apply(source.batch)
            chain.finish()
            if keep is not None:
                await self._keep(partial(self.checkpoints.keep_whole, keep, data), is_tiny(data))  # type: ignore[union-attr]
            await self._load_all(loads, [] if data is None else [data])
            return
        writer = None if keep is None or self.checkpoints is None else self.checkpoints.writer(keep, streamed=True)
        load_started = self._phase(LOAD, "phase_started")
        upstream = Upstream()
        async with anyio.create_task_group() as tasks:
            streams = []
            for step in loads:
                send, receive = anyio.create_memory_object_stream[Any](STREAM_BUFFER)
                streams.append(send)
                tasks.start_soon(self._load, step, StreamFeed(receive, upstream), name=f"{self.spec.name}:load:{step.id}")
            async with AsyncExitStack() as closing:
                for send in streams:
                    closing.enter_context(send)
                try:
                    while (batch := await source.next()) is not END:
                        batch = await chain.apply(batch)
                        if batch is not None:
                            # kept before any load sees it: what a load committed is in the checkpoint
                            if writer is not None and not await self._keep(partial(writer.add, batch)):
                                writer.close()
                                writer = None
                            for send in streams:
                                await send.send(batch)
                except BaseException as exc:
                    upstream.error = exc  # loads must fail, not commit a partial stream as complete
                    if writer is not None:
                        writer.close()
                    raise
                chain.finish()
                if writer is not None:
                    await self._keep(writer.commit)
        self._phase(LOAD, "phase_finished", load_started)

    async def _keep(self, write: Callable[[], None], tiny: bool = False) -> bool:
        """Write to the pipeline's checkpoint, off the event loop unless the data is ``tiny``. A
        checkpoint that cannot be written (data that does not pickle, a full disk) does not fail
        the pipeline: it goes on without one, with a warning, and a resume extracts again."""
        if self.checkpoints is None:
            return False
        try:
            if tiny:
                write()
            else:
                await anyio.to_thread.run_sync(write)
        except Exception as exc:
            self.context.logger.warning(
                "no checkpoint kept (%s); a resume will extract again. 'checkpoint: false' on the pipeline turns them off",
                describe(exc),
            )
            self.checkpoints.discard()
            self.checkpoints.release()
            self.checkpoints = None
            return False
        return True

    async def _load_all(self, loads: tuple[StepSpec, ...], batches: list[Any], feeds: dict[str, list[Any]] | None = None) -> None:
        """Every load gets ``batches``, or (``feeds``) the batches listed under its step id."""
        load_started = self._phase(LOAD, "phase_started")
        await self._concurrently(LOAD, loads, lambda step: self._load(step, batches if feeds is None else feeds[step.id]))
        self._phase(LOAD, "phase_finished", load_started)

    async def _load(self, step: StepSpec, batches: list[Any] | StreamFeed) -> None:
        context, function, started = self._start(step)
        feed = AsyncList(batches) if isinstance(batches, list) and inspect.iscoroutinefunction(function) else batches
        try:
            # a load whose input streamed cannot be given it again: no retry then
            report = await self._attempts(
                step, lambda: self._call(step, function, context, fresh_input(feed), **step.args), retry=isinstance(batches, list)
            )
            rows = report_rows(report, step)
        except BaseException as exc:
            if isinstance(batches, StreamFeed):
                batches.close()
            if not isinstance(exc, Exception):
                raise
            raise self._fail(step, context, started, exc) from exc
        if isinstance(batches, list):
            rows_in: int | None = 0
            for batch in batches:
                rows_in = plus(rows_in, batch)
        else:
            rows_in = None if self.loading is None else self.loading.output
        self._finish(step, context, started, rows, rows_in)

    async def _in_order(self, phase: str, steps: tuple[StepSpec, ...]) -> None:
        phase_started = self._phase(phase, "phase_started")
        for step in steps:
            context, function, started = self._start(step)
            try:
                report = await self._attempts(step, lambda: self._call(step, function, context, **step.args))
                rows = report_rows(report, step)
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
        self.batch: Any = END
        self.rows: int | None = 0

    @classmethod
    def single(cls, batch: Any) -> BatchSource:
        source = cls(None, None, None, 0.0, None, 0.0)
        source.batch = batch
        return source

    async def next(self) -> Any:
        """The next batch, or ``END`` once the stream is exhausted (which finishes the step)."""
        runner, step = self.runner, self.step
        assert runner is not None and step is not None and self.stream is not None
        stream, timeout = self.stream, step.policies.timeout
        try:
            if hasattr(stream, "__anext__"):
                batch = await within(timeout, lambda: anext(stream, END))
            else:
                batch = await within(
                    timeout, lambda: anyio.to_thread.run_sync(next, stream, END, abandon_on_cancel=timeout is not None)
                )
        except Exception as exc:
            raise runner._fail(step, self.context, self.started, exc) from exc
        if batch is END:
            self.stream = None
            runner._finish(step, self.context, self.started, self.rows)  # type: ignore[arg-type]
            runner._phase(EXTRACT, "phase_finished", self.phase_started)
            return END
        counted = row_count(batch)
        self.rows = None if counted is None or self.rows is None else self.rows + counted
        return batch


class _Replay:
    """A checkpoint read back in place of the extract phase's output: one piece of data, or a
    stream of batches read from disk one at a time (memory stays flat, as it did first time)."""

    def __init__(self, batch: Any, frames: Iterator[Any] | None) -> None:
        self.batch = batch
        self.frames = frames

    @classmethod
    async def of(cls, checkpoints: Checkpoints, phase: str) -> _Replay:
        if await anyio.to_thread.run_sync(checkpoints.streamed, phase):
            return cls(END, checkpoints.read(phase))
        frames = await anyio.to_thread.run_sync(list, checkpoints.read(phase))
        return cls(frames[0] if frames else None, None)

    async def next(self) -> Any:
        assert self.frames is not None
        return await anyio.to_thread.run_sync(next, self.frames, END)


class TransformChain:
    """The transform phase, applied batch by batch. Consecutive sync transforms share one trip to
    a worker thread per batch, which keeps per-step overhead to a function call."""

    def __init__(self, runner: PipelineRunner, steps: tuple[StepSpec, ...], joining: dict[int, list[Any]] | None = None) -> None:
        """``joining``: rows added to the input of the step at that index (a dead-letter replay)."""
        self.runner = runner
        self.steps = steps
        self.joining = joining or {}
        self.started_phase: float | None = None
        self.state: list[tuple[StepContext, Callable[..., Any], float]] = []
        self.rows: list[int | None] = [0] * len(steps)
        self.rows_in: list[int | None] = [0] * len(steps)
        self.output: int | None = 0  # rows the chain passed on, to the loads
        self.seen = [0] * len(steps)  # input rows so far, of steps that may reject rows
        self.groups: list[tuple[bool, list[int]]] = []

    def _begin(self) -> None:
        self.started_phase = self.runner._phase(TRANSFORM, "phase_started")
        for index, step in enumerate(self.steps):
            self.state.append(self.runner._start(step))
            # a step with a retry, timeout or on_error is called on its own, through the runner's policies
            is_async = (
                inspect.iscoroutinefunction(self.state[-1][1]) or step.policies != NONE or step.on_error != FAIL
                or index in self.joining
            )
            if self.groups and self.groups[-1][0] == is_async:
                self.groups[-1][1].append(index)
            else:
                self.groups.append((is_async, [index]))

    async def apply(self, batch: Any) -> Any:
        batch = await self._through(batch)
        if batch is not None:
            self.output = plus(self.output, batch)
        return batch

    async def _through(self, batch: Any) -> Any:
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
        offset = self.seen[index]

        def call(data: Any) -> Awaitable[Any]:
            return self.runner._call(step, function, context, data, **step.args)

        try:
            if index in self.joining:
                batch = _joined(batch, self.joining[index])
            self.rows_in[index] = plus(self.rows_in[index], batch)
            if step.on_error != FAIL and isinstance(batch, list):
                self.seen[index] += len(batch)
            try:
                batch = await self.runner._attempts(step, partial(call, batch))
            except Exception as exc:
                if step.on_error == FAIL or not isinstance(batch, list):
                    raise
                batch = await self._row_by_row(step, context, call, batch, offset, exc)
        except Exception as exc:
            raise self.runner._fail(step, context, started, exc) from exc
        self._count(index, batch)
        return batch

    async def _row_by_row(
        self, step: StepSpec, context: StepContext, call: Callable[[Any], Awaitable[Any]], rows: list[Any], offset: int,
        error: Exception,
    ) -> list[Any]:
        """A transform whose ``on_error`` is skip or dead_letter raised on a batch: apply it to
        each row alone, keep what the rows that succeed give (in order) and reject the rows that
        raise. When a row's output is not a list, the outputs cannot be joined: the batch's
        error stands."""
        kept: list[Any] = []
        for number, row in enumerate(rows):
            try:
                output = await within(step.policies.timeout, partial(call, [row]))
            except Exception as exc:
                context.reject(row, exc, position=offset + number)
                continue
            if isinstance(output, list):
                kept.extend(output)
            elif output is not None:
                raise error
        return kept

    def _sync_group(self, indexes: list[int], batch: Any) -> Any:
        for index in indexes:
            context, function, _ = self.state[index]
            self.rows_in[index] = plus(self.rows_in[index], batch)
            try:
                batch = function(context, batch, **self.steps[index].args)
            except Exception as exc:
                raise _InGroup(index, exc) from exc
            self._count(index, batch)
            if batch is None:
                return None
        return batch

    def _count(self, index: int, batch: Any) -> None:
        self.rows[index] = plus(self.rows[index], batch)

    def finish(self) -> None:
        if not self.steps:
            return
        if self.started_phase is None:  # no batch at all: the steps still ran, on nothing
            self._begin()
        for index, step in enumerate(self.steps):
            context, _, started = self.state[index]
            self.runner._finish(step, context, started, self.rows[index], self.rows_in[index])
        self.runner._phase(TRANSFORM, "phase_finished", self.started_phase)


def _joined(batch: Any, rows: list[Any]) -> list[Any]:
    """A replayed step's input: what the step before it gave, and the rows it rejected before."""
    if batch is None:
        return rows
    if not isinstance(batch, list):
        raise StepError(f"cannot add its dead-lettered rows to its input, a {type(batch).__name__} rather than a list of rows")
    return [*batch, *rows]


class _InGroup(Exception):
    def __init__(self, index: int, cause: BaseException) -> None:
        self.index, self.cause = index, cause


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
