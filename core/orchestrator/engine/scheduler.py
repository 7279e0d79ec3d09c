"""The DAG of pipelines: :class:`Engine` starts each pipeline as soon as the pipelines it depends
on succeeded (a true DAG, not waves), hands it to its executor, and skips the dependents of one
that did not succeed without cancelling unrelated ones."""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterable, Mapping
from contextlib import AbstractContextManager, AsyncExitStack, nullcontext
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from orchestrator.config.graph import topological_order, with_dependencies
from orchestrator.config.interpolate import redactor
from orchestrator.engine.collector import startup_set_aside
from orchestrator.engine.gates import conditional, empty_phase, verdict, without_skipped_steps
from orchestrator.engine.pipeline import NEW, PipelineRunner
from orchestrator.engine.record import listened_hooks
from orchestrator.engine.steplogs import StepLogs
from orchestrator.engine.usage import ACCOUNTING, peak_rss, process_usage
from orchestrator.errors import ConfigError, OrchestratorError, Problem, describe
from orchestrator.events import (
    FAILED,
    INTERRUPTED,
    SKIPPED,
    SUCCEEDED,
    Event,
    EventSink,
    Kind,
    PipelineOutcome,
    RunResult,
    discard,
)
from orchestrator.executors import Executor, PipelineJob
from orchestrator.plugins.registry import EXECUTOR
from orchestrator.runstate.progress import Continuation, Progress

if TYPE_CHECKING:
    from orchestrator.config.model import ExecutorSpec, PipelineSpec, Plan
    from orchestrator.engine.handoff import Streams
    from orchestrator.engine.ports import CheckpointStore, DeadLetterStore
    from orchestrator.plugins.discovery import Plugins


def new_run_id() -> str:
    """Sortable and unique enough: ``20261121T110203-3fa9c1``. The random part is what
    ``secrets.token_hex`` gives (``os.urandom``), without importing ``secrets`` (and ``hmac``) at
    every start."""
    return f"{datetime.now():%Y%m%dT%H%M%S}-{os.urandom(3).hex()}"


class Engine:
    """Runs a plan's pipelines (or a selection and what it depends on) and returns the result."""

    def __init__(
        self, plan: Plan, plugins: Plugins, events: EventSink = discard, *,
        checkpoints: CheckpointStore | None = None, dead_letters: DeadLetterStore | None = None,
        trace_context: Mapping[str, str] | None = None,
    ) -> None:
        """``events`` receives every event of the run. ``checkpoints`` keeps pipelines' phase
        outputs for a resume (None keeps none); ``dead_letters`` receives the rows steps
        dead-letter (None: they are counted, not kept). Both are built by whoever assembles the
        run (see :mod:`orchestrator.engine.ports`). ``trace_context`` is the run's W3C trace
        context (:mod:`orchestrator.tracecontext`), carried to every pipeline's context and
        into its workers; none by default."""
        self.plan = plan
        self.plugins = plugins
        self.emit = events
        self.checkpoints = checkpoints
        self.dead_letters = dead_letters
        #: whether anyone reads the events that feed no outcome (starts, phases, progress)
        self.listened = events is not discard
        self.redact = redactor(plan.secrets)
        self.hooks = listened_hooks(plugins)
        self.trace_context: Mapping[str, str] = trace_context or {}
        self._scope: anyio.CancelScope | None = None
        #: ``max_parallel:`` of each ``foreach`` pipeline that has one
        self._limiters: dict[str, anyio.CapacityLimiter] = {}
        #: of the run going on: the sources of ``foreach: {from: ...}``, the instances made of each
        #: such foreach pipeline, and what a resume continues from
        self._sources: frozenset[str] = frozenset()
        self._expanded: dict[str, list[str]] = {}
        self._resume: Progress | None = None
        #: the live outlets of this run's sources, by source, and the source each live taker takes from
        self._streams: dict[str, Streams] = {}
        self._taking: dict[str, str] = {}
        #: the run's executors, by executor setting (a foreach asks its source's for the items)
        self._running: dict[str, Executor] = {}

    def run_sync(
        self, selected: Iterable[str] | None = None, *, run_id: str | None = None, resume: Progress | None = None,
        replay: Mapping[str, Path] | None = None, upstream: bool = True,
    ) -> RunResult:
        """Run on a fresh event loop (the CLI's and most tests' entry)."""
        results: list[RunResult] = []

        async def main() -> None:
            # The result stays out of the loop's hands: on Python 3.11, asyncio's runner formats
            # the main coroutine's return value when it restores signal handlers, which costs as
            # much as a large run's whole bookkeeping.
            results.append(await self.run(selected, run_id=run_id, resume=resume, replay=replay, upstream=upstream))

        anyio.run(main)
        return results[0]

    async def run(
        self, selected: Iterable[str] | None = None, *, run_id: str | None = None, resume: Progress | None = None,
        replay: Mapping[str, Path] | None = None, upstream: bool = True,
    ) -> RunResult:
        """Run the pipelines: the ``selected`` ones and what they depend on, or, without
        ``upstream``, the selected ones alone (what they depend on outside the selection is taken
        as done, as ``--only`` and ``--downstream`` ask). ``resume`` continues run ``run_id`` from
        what its earlier attempt completed: succeeded pipelines are not run again, the others go on
        from their checkpoints and skip the loads that completed. ``replay`` (pipeline: an earlier
        run's dead-letter file) runs only those pipelines, on their dead-lettered rows."""
        run_id = run_id or new_run_id()
        graph = {name: spec.depends_on for name, spec in self.plan.pipelines.items()}
        groups = self.plan.groups
        if selected is not None:  # a foreach pipeline's name selects its instances
            selected = [one for name in selected for one in groups.get(name, (name,))]
        if selected is None:
            names: Collection[str] = graph
        else:
            names = with_dependencies(graph, selected) if upstream else set(selected)
        self._limiters = {
            spec.fanout.group: anyio.CapacityLimiter(spec.fanout.max_parallel)
            for spec in self.plan.pipelines.values() if spec.fanout is not None and spec.fanout.max_parallel
        }
        if replay is not None:  # what the replayed pipelines depend on is not run again
            names = {name for name in names if name in replay}
        self._sources, self._expanded, self._resume = _sources(self.plan), {}, resume
        self._streams, self._taking = {}, {}
        order = [name for name in topological_order(graph) if name in names]
        started = time.perf_counter()
        used_before = process_usage()[0] if ACCOUNTING.on else 0.0
        self.emit(Event(Kind.RUN_STARTED, run_id))
        outcomes: dict[str, PipelineOutcome] = {}
        finished = {name: anyio.Event() for name in order}
        if resume is not None:
            for name in resume.pipelines.intersection(order):
                event = Event(Kind.PIPELINE_REUSED, run_id, name, status=SUCCEEDED)
                self.emit(event)
                outcomes[name] = PipelineOutcome.of(event)
                finished[name].set()
        pending = [name for name in order if name not in outcomes]
        if resume is not None and self.checkpoints is not None:
            self.checkpoints.recover(run_id)
        with StepLogs(run_id, self.emit, self.redact):
            async with AsyncExitStack() as stack:
                stack.enter_context(startup_set_aside())
                executors = self._executors(pending)
                for key, executor in executors.items():
                    executors[key] = await stack.enter_async_context(executor)
                self._running = executors
                if self.checkpoints is not None and replay is None and any(self.plan.pipelines[n].checkpoint for n in pending):
                    stack.enter_context(self.checkpoints.holding(run_id))
                if self._sources and replay is None:
                    self._streams = stack.enter_context(self._live_handoffs(run_id, pending, executors))
                self._scope = anyio.CancelScope()
                with self._scope:
                    async with anyio.create_task_group() as tasks:
                        for name in pending:
                            spec = self.plan.pipelines[name]
                            executor = executors[spec.executor.key]
                            graph_ok = getattr(executor, "takes_graph", False) and not conditional(spec)
                            waits = self._upstream(spec, finished, outcomes) if graph_ok else ()
                            continuation = self._continuation(spec, resume, replay)
                            tasks.start_soon(
                                self._schedule, spec, run_id, continuation, waits, executor, finished, outcomes, name=name
                            )
        ended = [one for name in order for one in self._expanded.get(name, (name,))]
        result = RunResult(run_id, {name: outcomes[name] for name in ended}, time.perf_counter() - started)
        if self.checkpoints is not None and result.ok:
            self.checkpoints.remove(run_id)
        if self._sources and result.ok:  # until then, a resume takes the same rows from them
            from orchestrator.engine.fanout import remove_spent

            remove_spent(self.plan, run_id, order)
        status = INTERRUPTED if result.interrupted else SUCCEEDED if result.ok else FAILED
        self.emit(Event(Kind.RUN_FINISHED, run_id, status=status, elapsed=result.elapsed, **self._used(result, used_before)))
        return result

    def _live_handoffs(self, run_id: str, pending: list[str], executors: dict[str, Executor]) -> AbstractContextManager[dict[str, Streams]]:
        """The outlets through which sources stream their rows to the takers that run in this
        event loop (see :mod:`orchestrator.engine.handoff`)."""
        from orchestrator.engine.handoff import streaming, streaming_takers

        def in_loop(name: str) -> bool:
            executor = executors[self.plan.pipelines[name].executor.key]
            return not (getattr(executor, "crosses_processes", False) or getattr(executor, "takes_graph", False))

        takers = streaming_takers(self.plan, pending, {name: in_loop(name) for name in pending})
        self._taking = {taker: source for source, names in takers.items() for taker in names}
        return streaming(run_id, takers)

    def _used(self, result: RunResult, cpu_before: float) -> dict[str, Any]:
        """What the run used (see :mod:`orchestrator.engine.usage`) and its estimated cost: the
        config's ``per_run`` plus its pipelines' (:mod:`orchestrator.config.cost`)."""
        if not ACCOUNTING.on:
            return {}
        cpu, children = process_usage()
        peaks = [p.rss for p in result.pipelines.values() if p.rss is not None] + [peak_rss() or 0, children or 0]
        model = self.plan.cost
        cost = None if model is None else model.per_run + sum(p.cost or 0.0 for p in result.pipelines.values())
        return {"cpu": cpu - cpu_before, "rss": max(peaks) or None, "cost": cost}

    async def run_pipeline(self, spec: PipelineSpec, run_id: str, continuation: Continuation = NEW) -> PipelineOutcome:
        """Run one pipeline of run ``run_id`` here, whatever its executor: what an executor's
        worker side calls (see :mod:`orchestrator.executors.remote`)."""
        with StepLogs(run_id, self.emit, self.redact):
            return await PipelineRunner(self, spec, run_id, continuation).run()

    def interrupt(self) -> None:
        """Stop the run: no new step starts, running ones are cancelled (a sync step's thread is
        waited for, unless it has a timeout), and every unfinished pipeline ends as interrupted.
        Call it on the event loop (a signal watcher task, say)."""
        if self._scope is not None:
            self._scope.cancel()

    def _upstream(
        self, spec: PipelineSpec, finished: dict[str, anyio.Event], outcomes: dict[str, PipelineOutcome]
    ) -> tuple[str, ...]:
        """What an executor that takes the whole graph waits for itself: the pipeline's
        dependencies that run in this run on the same executor."""
        same = spec.executor.key
        return tuple(
            dep for dep in spec.depends_on
            if dep in finished and dep not in outcomes and self.plan.pipelines[dep].executor.key == same
            and (self.plan.pipelines[dep].fanout is None or self.plan.pipelines[dep].fanout.source is None)  # type: ignore[union-attr]
        )

    async def _schedule(
        self, spec: PipelineSpec, run_id: str, continuation: Continuation, upstream: tuple[str, ...], executor: Executor,
        finished: dict[str, anyio.Event], outcomes: dict[str, PipelineOutcome],
    ) -> None:
        name = spec.name
        submitted: float | None = None
        ran: list[PipelineRunner] = []

        async def run_here() -> PipelineOutcome:
            """The pipeline, run in this process (a runner is built only for what runs here)."""
            ran.append(PipelineRunner(self, spec, run_id, continuation))
            return await ran[0].run()

        try:
            # the others are not in this run, or (upstream) the executor waits for them itself
            depends_on = [dep for dep in spec.depends_on if dep in finished and dep not in upstream]
            live = self._taking.get(name)  # a source this one takes rows from as they come
            for dep in depends_on:
                if dep != live:
                    await finished[dep].wait()
            if live is not None:  # its handoff started, or it ended: then it is judged like any other
                await self._streams[live].ready.wait()
                depends_on = [dep for dep in depends_on if dep != live or finished[dep].is_set()]
            dynamic = spec.fanout is not None and spec.fanout.source is not None
            try:  # a foreach from another pipeline's rows: its conditions are its instances'
                reason = verdict(replace(spec, when=None) if dynamic else spec, depends_on, outcomes, self.plan)
                if reason is None and dynamic:
                    outcomes[name] = await self._fan_out(spec, run_id, executor, finished, outcomes)
                    return
                if reason is None:
                    spec = without_skipped_steps(spec, depends_on, outcomes, self.plan, run_id, self.emit)
                    phase = empty_phase(spec)
                    reason = None if phase is None else f"skipped: the condition of every {phase} step is false"
            except ValueError as exc:  # a condition that cannot be evaluated fails this pipeline only
                outcomes[name] = self._ended(Event(Kind.PIPELINE_FINISHED, run_id, name, status=FAILED, error=self.redact(str(exc))))
                return
            if reason is not None:
                outcomes[name] = self._ended(Event(Kind.PIPELINE_SKIPPED, run_id, name, status=SKIPPED, error=reason))
                return
            if name in self._sources or spec.extract_from is not None:
                from orchestrator.engine.fanout import extracting_rows, keeping_rows

                spec = keeping_rows(spec) if name in self._sources else spec
                spec = extracting_rows(spec) if spec.extract_from is not None else spec
            job = PipelineJob(
                self.plan, spec, run_id, run_here, self.emit, continuation, self.checkpoints, self.dead_letters, upstream,
                self.trace_context,
            )
            limiter = self._limiters.get(spec.fanout.group) if spec.fanout is not None else None
            async with limiter or nullcontext():
                submitted = time.perf_counter()
                try:
                    outcomes[name] = await executor.submit(job)
                except Exception as exc:  # noqa: BLE001 - the executor itself broke: fail this pipeline only
                    error = self.redact(f"executor {spec.executor.name!r} failed: {describe(exc)}")
                    outcomes[name] = self._ended(Event(Kind.PIPELINE_FINISHED, run_id, name, status=FAILED, error=error))
        except anyio.get_cancelled_exc_class():
            if name not in outcomes:  # the run was interrupted before or while this one ran
                if ran and ran[0].outcome is not None:  # it ran here and recorded its own end
                    outcomes[name] = ran[0].outcome
                else:
                    elapsed = 0.0 if submitted is None else time.perf_counter() - submitted
                    outcomes[name] = self._ended(
                        Event(Kind.PIPELINE_FINISHED, run_id, name, status=INTERRUPTED, elapsed=elapsed, error=INTERRUPTED)
                    )
            raise
        finally:
            finished[name].set()
            if name in self._streams:
                self._streams[name].settle()
            if name in self._taking:
                self._streams[self._taking[name]].leave(name)

    async def _fan_out(
        self, template: PipelineSpec, run_id: str, executor: Executor, finished: dict[str, anyio.Event],
        outcomes: dict[str, PipelineOutcome],
    ) -> PipelineOutcome:
        """Run one instance per row the template's source loaded, as pipelines of their own (an
        instance a resumed run completed before is reused), and say how they ended together."""
        from orchestrator.config.foreach import ForeachError
        from orchestrator.engine.fanout import group_outcome, instances

        assert template.fanout is not None and template.fanout.source is not None
        source = template.fanout.source
        chosen = self.plan.pipelines[source].executor
        handed_over = getattr(self._running.get(chosen.key), "handed_over", None)  # an executor need not derive from Executor
        try:
            handed = None if handed_over is None else await handed_over(run_id, source)
        except Exception as exc:  # noqa: BLE001 - the executor could not give the rows: fail this foreach only
            error = self.redact(f"foreach: the rows of {source!r} cannot be fetched from executor {chosen.name!r}: {describe(exc)}")
            return self._ended(Event(Kind.PIPELINE_FINISHED, run_id, template.name, status=FAILED, error=error))
        try:
            made = instances(template, self.plan.base_dir, run_id, handed)
        except ForeachError as exc:
            error = self.redact(f"foreach: {exc}")
            return self._ended(Event(Kind.PIPELINE_FINISHED, run_id, template.name, status=FAILED, error=error))
        self._expanded[template.name] = [instance.name for instance in made]
        async with anyio.create_task_group() as tasks:
            for instance in made:
                finished[instance.name] = anyio.Event()
                if self._resume is not None and instance.name in self._resume.pipelines:
                    outcomes[instance.name] = self._ended(Event(Kind.PIPELINE_REUSED, run_id, instance.name, status=SUCCEEDED))
                    continue
                continuation = self._continuation(instance, self._resume, None)
                tasks.start_soon(self._schedule, instance, run_id, continuation, (), executor, finished, outcomes, name=instance.name)
        return group_outcome(template.name, [outcomes[name] for name in self._expanded[template.name]])

    def _ended(self, event: Event) -> PipelineOutcome:
        """A pipeline that ended without running: its event, and the outcome it records."""
        self.emit(event)
        return PipelineOutcome.of(event)

    def _continuation(self, spec: PipelineSpec, resume: Progress | None, replay: Mapping[str, Path] | None) -> Continuation:
        if replay is not None:  # rows only: nothing is extracted, so nothing is checkpointed
            return Continuation(replay_dead_letters=replay[spec.name])
        keeps = self.checkpoints is not None and spec.checkpoint
        if resume is None:
            return Continuation(checkpoints=True) if keeps else NEW
        return Continuation(resume.done(spec.name), keeps, resumed=True)

    def _executors(self, pending: list[str]) -> dict[str, Executor]:
        """One executor per distinct executor setting; refused, before anything runs, when one
        cannot take its pipelines (what cannot cross a process boundary, say)."""
        executors: dict[str, Executor] = {}
        for name in pending:
            chosen = self.plan.pipelines[name].executor
            if chosen.key not in executors:
                executors[chosen.key] = self._executor(chosen)
        problems = []
        for key, executor in executors.items():
            refusals = getattr(executor, "refusals", None)  # an executor need not derive from Executor
            if refusals is not None:
                problems += refusals(self.plan, self.plugins, [n for n in pending if self.plan.pipelines[n].executor.key == key])
        if problems:
            source = str(self.plan.source)
            raise ConfigError([Problem(source, 0, "", f"{p}; use the local executor for it") for p in problems])
        return executors

    def _executor(self, spec: ExecutorSpec) -> Executor:
        entry = self.plugins.registry.get(EXECUTOR, spec.name)
        if entry is None:  # validation reports this; reaching here means a plan built by hand
            raise OrchestratorError(f"unknown executor {spec.name!r}")
        executor: Executor = entry.resolve()(**spec.options)
        return executor


def _sources(plan: Plan) -> frozenset[str]:
    """The pipelines whose rows a ``foreach`` or an ``extract`` takes (the fan-out module is
    imported only for a plan that has one)."""
    if not any(spec.extract_from is not None or (spec.fanout is not None and spec.fanout.source) for spec in plan.pipelines.values()):
        return frozenset()
    from orchestrator.engine.fanout import sources

    return sources(plan)
