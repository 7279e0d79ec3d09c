"""The phase rules of one pipeline, run in this process: extract, then transform, then load
(streamed, or from a checkpoint on a resume, or from an earlier run's dead letters on a replay),
then transform_at_load; the pipeline's own timeout and retry policy around them; and, however it
ends, every open phase and step closed, its checkpoint and dead-letter files released, and its
``after_*`` hooks fired (``finally`` in :meth:`PipelineRunner.run`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from orchestrator.config.phases import EXTRACT, LOAD, TRANSFORM, TRANSFORM_AT_LOAD
from orchestrator.config.policies import error_classes
from orchestrator.context import PipelineContext
from orchestrator.engine.batches import (
    END,
    AsyncList,
    StreamFeed,
    UpstreamFailed,
    collect,
    fresh_input,
    is_stream,
    is_tiny,
    plus,
    report_rows,
    row_count,
)
from orchestrator.engine.deaths import interrupted, on_loop
from orchestrator.engine.record import HookRelay, PipelineRecord
from orchestrator.engine.steps import StepRun, cause_of, explain, first_failure, retrying
from orchestrator.engine.streaming import (
    BatchSource,
    Replay,
    TransformChain,
    stream_to_loads,
)
from orchestrator.engine.usage import ACCOUNTING, metered
from orchestrator.errors import CheckpointDamaged, OrchestratorError, describe
from orchestrator.events import FAILED, INTERRUPTED, SUCCEEDED, Kind, PipelineOutcome, moved_rows
from orchestrator.runstate.progress import Continuation

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec, StepSpec
    from orchestrator.engine.ports import PipelineCheckpoints
    from orchestrator.engine.views import EngineView

#: how a pipeline of a fresh run without checkpoints goes on: from the start
NEW = Continuation()


class PipelineRunner:
    """Runs one pipeline's phases in this process."""

    def __init__(self, engine: EngineView, spec: PipelineSpec, run_id: str, continuation: Continuation = NEW) -> None:
        self.spec = spec
        self.run_id = run_id
        self.plan = engine.plan
        self.registry = engine.plugins.registry
        self.context = PipelineContext(
            run_id, spec.name, self.plan.params, self.plan.base_dir, self.plan.allowed_paths, engine.trace_context
        )
        rates = None if self.plan.cost is None else self.plan.cost.rates(spec.executor.name)
        self.record = PipelineRecord(run_id, spec.name, engine.emit, HookRelay(engine.hooks), engine.listened, engine.redact, rates)
        self.attempt = 1
        self.continuation = continuation
        self.done = continuation.done
        self.resumed = continuation.resumed
        self.loading: TransformChain | None = None  # what feeds the loads, and counts their input
        self.replaying = continuation.replay_dead_letters
        self.letters = engine.dead_letters
        self.dead_letters = None if self.letters is None else self.letters.open(run_id, spec)
        store = engine.checkpoints
        self.checkpoints = (
            store.pipeline(run_id, spec.name, resumed=continuation.resumed) if store is not None and continuation.checkpoints else None
        )
        #: how the pipeline ended, once it did (an interrupted one ends without returning)
        self.outcome: PipelineOutcome | None = None

    async def run(self) -> PipelineOutcome:
        started = time.perf_counter()
        record = self.record
        record.emit(record.event(Kind.PIPELINE_STARTED))
        status, error, failure = SUCCEEDED, None, None
        try:
            record.relay.before("before_pipeline_run", context=self.context)
            await retrying(
                self.spec.policies, self._phases, on_retry=self._retried, on_exhausted=self._exhausted, failure=first_failure
            )
        except Exception as exc:  # noqa: BLE001 - whatever a step raised fails this pipeline only
            # a sync step's thread cannot be cancelled: what it raises on its way out of an
            # interrupted run (a load told its stream stopped) comes after the cancellation
            if interrupted():
                status, error = INTERRUPTED, INTERRUPTED
            else:
                failure = first_failure(exc)
                status, error = FAILED, explain(failure)
        except BaseException as exc:  # cancelled: the run was interrupted
            failure, status, error = exc, INTERRUPTED, INTERRUPTED
            raise
        finally:
            self.outcome = self._end(status, error, failure, time.perf_counter() - started)
        return self.outcome

    def _end(self, status: str, error: str | None, failure: BaseException | None, elapsed: float) -> PipelineOutcome:
        """Close what is open, fire the closing hooks, release the files, and record the end."""
        record, relay = self.record, self.record.relay
        self._close_open(status, failure)
        if status == FAILED and failure is not None:
            relay.after("on_pipeline_error", context=self.context, error=failure)
        relay.after("after_pipeline_run", context=self.context, status=status, elapsed=elapsed)
        if relay.errors:
            status = FAILED if status == SUCCEEDED else status
            error = "; ".join([*([error] if error else []), *relay.errors])
        letters = None
        try:
            if self.checkpoints is not None:
                if status == SUCCEEDED:
                    self.checkpoints.discard()  # kept only for resuming a pipeline that did not finish
                self.checkpoints.release()
        finally:
            if self.dead_letters is not None:
                self.dead_letters.close()
                letters = self.dead_letters.written()
        cause = None if status != FAILED or failure is None else cause_of(failure)
        event = record.event(
            Kind.PIPELINE_FINISHED, status=status, elapsed=elapsed, error=record.redact(error) if error else None, attempt=self.attempt,
            rows=moved_rows(record.steps), error_type=None if cause is None else type(cause).__qualname__,
            **record.totals(elapsed),
        )
        record.emit(event)
        return PipelineOutcome.of(event, record.steps, letters, () if cause is None else error_classes(cause))

    def _close_open(self, status: str, failure: BaseException | None) -> None:
        """Steps and phases a failure or an interruption left open end with the pipeline's status."""
        ended = INTERRUPTED if status == INTERRUPTED else FAILED
        self.record.close_open_steps(ended, failure or OrchestratorError(ended))
        for phase in list(self.record.open_phases):
            self.record.phase_finished(self.context, phase, ended)

    def _retried(self, error: BaseException, attempt: int, attempts: int, delay: float) -> None:
        self._close_open(FAILED, error)
        record = self.record
        record.emit(record.event(
            Kind.PIPELINE_RETRY, status=f"attempt {attempt} of {attempts}", elapsed=delay,
            error=record.redact(explain(error)), attempt=attempt, error_type=type(cause_of(error)).__qualname__,
        ))
        record.steps, self.attempt = [], attempt
        if self.checkpoints is not None:  # a pipeline retry starts again from the extract
            self.checkpoints.discard(again=True)
            self.resumed = False

    def _exhausted(self, error: BaseException, attempts: int) -> None:
        self.record.retry_exhausted(
            self.context, error, explain(error), attempts, error_type=type(cause_of(error)).__qualname__
        )

    def load_id(self, step: StepSpec) -> str | None:
        """A replay loads as the run it replays, so replaying that run again skips what this
        one committed; any other run loads under its own id (None: the step context's default)."""
        if self.replaying is None or self.letters is None:
            return None
        return self.letters.load_id(self.replaying, self.spec.name, step.id)

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
        self.record.step_reused(step.phase, step.id, step.plugin, self.done.get(step.id))
        return True

    async def _load_input(
        self, extracts: tuple[StepSpec, ...], transforms: tuple[StepSpec, ...]
    ) -> tuple[BatchSource | Replay, tuple[StepSpec, ...]]:
        """Where the loads' data comes from, and the transforms still to apply to it: a resumed
        pipeline starts from its last complete checkpoint, any other extracts."""
        kept = self.checkpoints
        if kept is not None and self.resumed:
            for phase, remaining in ((TRANSFORM, ()), (EXTRACT, transforms)):
                if (phase == EXTRACT or transforms) and self._complete(kept, phase):
                    for step in (*extracts, *transforms[: len(transforms) - len(remaining)]):
                        self._reused(step, always=True)
                    return await Replay.of(kept, phase), remaining
        return await self._extract(extracts), transforms

    def _complete(self, kept: PipelineCheckpoints, phase: str) -> bool:
        """Whether ``phase``'s checkpoint can be read back; a damaged one was discarded (and the
        loads that committed batches before skip them again, from their ledger)."""
        try:
            return kept.complete(phase)
        except CheckpointDamaged as exc:
            self.context.logger.warning("%s", exc)
            return False

    async def _replay_dead_letters(self, path: Path) -> None:
        """Run the rows an earlier run dead-lettered (``path``) again, each from the step that
        rejected it: a transform's rows through that transform and the ones after it (joined by
        the rows the later transforms rejected, at their own step), then into every load; a
        load's rows into that load alone. Extract and transform_at_load steps do not run.

        Every load gets the same batches on every replay of a run (the transformed rows, then
        its own), so an idempotent load skips what an earlier replay of the run committed."""
        if self.letters is None:
            raise OrchestratorError("replaying dead letters needs a dead-letter store")
        rows = await anyio.to_thread.run_sync(self.letters.rows_by_step, path)
        transforms = self.spec.phases.get(TRANSFORM, ())
        first = next((index for index, step in enumerate(transforms) if step.id in rows), None)
        batches: list[Any] = []
        if first is not None:
            chain = TransformChain(self, transforms[first:], {i: rows[s.id] for i, s in enumerate(transforms[first:]) if s.id in rows})
            data = await chain.apply([])
            chain.finish()
            batches.append([] if data is None else data)
        loads = tuple(step for step in self.spec.phases[LOAD] if batches or step.id in rows)
        feeds = {step.id: [*batches, rows[step.id]] if step.id in rows else batches for step in loads}
        await self._load_all(loads, batches, feeds)

    async def _extract(self, steps: tuple[StepSpec, ...]) -> BatchSource:
        self.record.phase_started(self.context, EXTRACT)
        if len(steps) == 1:
            run = StepRun(self, steps[0]).start()
            try:
                result = await run.attempt()
            except Exception as exc:
                raise run.fail(exc) from exc
            if is_stream(result):
                return BatchSource(self, run, result)
            run.finish(row_count(result))
            self.record.phase_finished(self.context, EXTRACT)
            return BatchSource.single(result)
        outputs: dict[str, Any] = {}

        async def one(step: StepSpec) -> None:
            run = StepRun(self, step).start()

            async def call() -> Any:
                result = await run.call()
                if not is_stream(result):
                    return result
                meter = run.context if ACCOUNTING.on else None
                collected = on_loop(collect(result, meter))
                return await (collected if meter is None else metered(collected, meter))

            try:
                result = await run.attempt(call)
            except Exception as exc:
                raise run.fail(exc) from exc
            outputs[step.id] = result
            run.finish(row_count(result))

        await self._concurrently(EXTRACT, steps, one)
        self.record.phase_finished(self.context, EXTRACT)
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
        self, source: BatchSource | Replay, transforms: tuple[StepSpec, ...], loads: tuple[StepSpec, ...]
    ) -> None:
        chain = self.loading = TransformChain(self, transforms)
        replayed = isinstance(source, Replay)
        # the loads' input is kept, unless it is itself a checkpoint read back
        keep = None if self.checkpoints is None or (replayed and not transforms) else TRANSFORM if transforms else EXTRACT
        if source.batch is not END:
            if keep == TRANSFORM and not replayed:  # the extract output too: a resume can skip extracting
                await self.keep(partial(self.checkpoints.keep_whole, EXTRACT, source.batch), is_tiny(source.batch))  # type: ignore[union-attr]
            data = await chain.apply(source.batch)
            chain.finish()
            if keep is not None:
                await self.keep(partial(self.checkpoints.keep_whole, keep, data), is_tiny(data))  # type: ignore[union-attr]
            await self._load_all(loads, [] if data is None else [data])
            return
        writer = None if keep is None or self.checkpoints is None else self.checkpoints.writer(keep, streamed=True)
        await stream_to_loads(self, source, chain, loads, writer)

    async def keep(self, write: Callable[[], None], tiny: bool = False) -> bool:
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
        except Exception as exc:  # noqa: BLE001 - a checkpoint that cannot be written is not a failure
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
        self.record.phase_started(self.context, LOAD)
        await self._concurrently(LOAD, loads, lambda step: self.load(step, batches if feeds is None else feeds[step.id]))
        self.record.phase_finished(self.context, LOAD)

    async def load(self, step: StepSpec, batches: list[Any] | StreamFeed) -> None:
        """One load step, given its whole input (``batches``) or the stream of it."""
        run = StepRun(self, step).start()
        feed = AsyncList(batches) if isinstance(batches, list) and run.is_async else batches
        try:
            # a load whose input streamed cannot be given it again: no retry then
            report = await run.attempt(lambda: run.call(fresh_input(feed)), retry=isinstance(batches, list))
            rows = report_rows(report, step)
        except BaseException as exc:
            if isinstance(batches, StreamFeed):
                batches.close()
            if not isinstance(exc, Exception) or (isinstance(exc, UpstreamFailed) and exc.interrupted):
                raise  # left open: it ends as its pipeline does, interrupted
            raise run.fail(exc) from exc
        if isinstance(batches, list):
            rows_in: int | None = 0
            for batch in batches:
                rows_in = plus(rows_in, batch)
        else:
            rows_in = None if self.loading is None else self.loading.output
        run.finish(rows, rows_in)

    async def _in_order(self, phase: str, steps: tuple[StepSpec, ...]) -> None:
        self.record.phase_started(self.context, phase)
        for step in steps:
            run = StepRun(self, step).start()
            try:
                rows = report_rows(await run.attempt(), step)
            except Exception as exc:
                raise run.fail(exc) from exc
            run.finish(rows)
        self.record.phase_finished(self.context, phase)
