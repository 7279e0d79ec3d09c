"""From lifecycle hooks to spans: a span per pipeline, phase and step of every run this process
takes part in, with their ids from :mod:`.ids`.

Hooks of one pipeline fire in the one process that runs it (here, or a worker), so the spans
open in this process are all a hook needs: the pipeline's span is the parent of its phases',
each phase's the parent of its steps'. A pipeline's span has no parent: the hooks have no event
for the run as a whole (see the docs page), so a run's trace is the pipeline spans of every
process that ran one of its pipelines, joined by the trace id.

Error texts are redacted as the run's output is: the secret-looking environment values and URL
passwords (:func:`orchestrator.config.interpolate.redactor`), since hooks receive the exception
itself. No stack trace is recorded: it can quote anything.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import Span, Status, StatusCode

from orchestrator.config.interpolate import redactor, secret_environment
from orchestrator.errors import describe
from orchestrator_plugin_opentelemetry import ids
from orchestrator_plugin_opentelemetry.exporting import FLUSH_SECONDS, PlacedIds, provider

if TYPE_CHECKING:
    from orchestrator.context import PipelineContext, StepContext

#: how a span's ``orchestrator.status`` maps to the span's status
FAILED_STATUSES = frozenset({"failed", "interrupted"})


class _Pipeline:
    """A pipeline's open span, with its open phases and steps and how often each started (a
    pipeline's own ``retry:`` runs its phases again: each run is a span of its own)."""

    __slots__ = ("context", "phases", "span", "started", "steps")

    def __init__(self, span: Span) -> None:
        self.span = span
        #: the context naming the span as parent, made once for all its children
        self.context = trace.set_span_in_context(span)
        self.phases: dict[str, tuple[Span, Context]] = {}
        self.steps: dict[str, Span] = {}
        self.started: Counter[tuple[str, ...]] = Counter()

    def occurrence(self, *place: str) -> str:
        """How many times ``place`` has started in this pipeline, this one included: the
        pipeline's attempt (its own ``retry:`` runs every phase and step again)."""
        self.started[place] += 1
        return str(self.started[place])


class Tracing:
    """Turns one process's lifecycle hook calls into spans sent through ``processor``."""

    def __init__(self, processor: SpanProcessor) -> None:
        self._ids = PlacedIds()
        self._provider = provider(processor, self._ids)
        self._tracer = self._provider.get_tracer("orchestrator_plugin_opentelemetry")
        self._redact = redactor(frozenset(secret_environment(os.environ)))
        self._pipelines: dict[tuple[str, str], _Pipeline] = {}

    # -- starting ---------------------------------------------------------------------------

    def _start(
        self, name: str, trace_id: int | None, span_id: int, parent: Context, attributes: dict[str, str | int]
    ) -> Span:
        self._ids.place(trace_id, span_id)  # taken by the SDK in this call, on this thread
        return self._tracer.start_span(name, context=parent, attributes=attributes)

    def pipeline_started(self, context: PipelineContext) -> None:
        run, name = context.run_id, context.pipeline
        span = self._start(
            f"pipeline {name}", ids.trace_id(run), ids.span_id(run, name), Context(),
            {"orchestrator.run_id": run, "orchestrator.pipeline": name},
        )
        self._pipelines[run, name] = _Pipeline(span)

    def phase_started(self, context: PipelineContext, phase: str) -> None:
        pipeline = self._pipelines.get((context.run_id, context.pipeline))
        if pipeline is None:
            return
        attempt = pipeline.occurrence(phase)
        span = self._start(
            f"{phase} {context.pipeline}", None, ids.span_id(context.run_id, context.pipeline, phase, attempt),
            pipeline.context,
            {
                "orchestrator.run_id": context.run_id, "orchestrator.pipeline": context.pipeline,
                "orchestrator.phase": phase, "orchestrator.pipeline_attempt": int(attempt),
            },
        )
        pipeline.phases[phase] = span, trace.set_span_in_context(span)

    def step_started(self, context: StepContext) -> None:
        pipeline = self._pipelines.get((context.run_id, context.pipeline))
        if pipeline is None:
            return
        attempt = pipeline.occurrence(context.phase, context.step_id)
        pipeline.steps[context.step_id] = self._start(
            f"step {context.step_id}", None, ids.span_id(context.run_id, context.pipeline, context.phase, context.step_id, attempt),
            pipeline.phases[context.phase][1] if context.phase in pipeline.phases else pipeline.context,
            {
                "orchestrator.run_id": context.run_id, "orchestrator.pipeline": context.pipeline,
                "orchestrator.phase": context.phase, "orchestrator.step": context.step_id,
                "orchestrator.plugin": context.plugin, "orchestrator.pipeline_attempt": int(attempt),
            },
        )

    # -- what happened ----------------------------------------------------------------------

    def step_error(self, context: StepContext, error: BaseException) -> None:
        span = self._step_span(context)
        if span is not None:
            self._record_error(span, error)

    def pipeline_error(self, context: PipelineContext, error: BaseException) -> None:
        pipeline = self._pipelines.get((context.run_id, context.pipeline))
        if pipeline is not None:
            self._record_error(pipeline.span, error)

    def retry_exhausted(self, context: PipelineContext, step: str | None, attempts: int) -> None:
        pipeline = self._pipelines.get((context.run_id, context.pipeline))
        if pipeline is None:
            return
        span = pipeline.span if step is None else pipeline.steps.get(step)
        if span is not None:
            span.set_attribute("orchestrator.attempts", attempts)
            span.add_event("retry_exhausted", {"orchestrator.attempts": attempts})

    def _record_error(self, span: Span, error: BaseException) -> None:
        message = self._redact(describe(error))
        span.set_attribute("error.type", type(error).__qualname__)
        span.set_attribute("orchestrator.error", message)
        span.add_event("exception", {"exception.type": type(error).__qualname__, "exception.message": message})

    # -- ending -----------------------------------------------------------------------------

    def step_finished(self, context: StepContext, rows: int | None, status: str) -> None:
        pipeline = self._pipelines.get((context.run_id, context.pipeline))
        span = None if pipeline is None else pipeline.steps.pop(context.step_id, None)
        if span is None:
            return
        if rows is not None:
            span.set_attribute("orchestrator.rows", rows)
        _end(span, status)

    def phase_finished(self, context: PipelineContext, phase: str, status: str) -> None:
        pipeline = self._pipelines.get((context.run_id, context.pipeline))
        opened = None if pipeline is None else pipeline.phases.pop(phase, None)
        if opened is not None:
            _end(opened[0], status)

    def pipeline_finished(self, context: PipelineContext, status: str) -> None:
        """End the pipeline's span; when it was the last pipeline open in this process, send
        what is queued, waiting at most :data:`FLUSH_SECONDS` (a run's process may exit soon,
        and a worker may be ended without the chance to run its exit handlers)."""
        pipeline = self._pipelines.pop((context.run_id, context.pipeline), None)
        if pipeline is None:
            return
        _end(pipeline.span, status)
        if not self._pipelines:
            self.flush()

    def flush(self) -> bool:
        """Send every ended span now, waiting at most :data:`FLUSH_SECONDS`."""
        return self._provider.force_flush(int(FLUSH_SECONDS * 1000))

    def shutdown(self) -> None:
        self._provider.shutdown()

    def _step_span(self, context: StepContext) -> Span | None:
        pipeline = self._pipelines.get((context.run_id, context.pipeline))
        return None if pipeline is None else pipeline.steps.get(context.step_id)


def _end(span: Span, status: str) -> None:
    span.set_attribute("orchestrator.status", status)
    if status in FAILED_STATUSES:
        span.set_status(Status(StatusCode.ERROR, status))
    span.end(time.time_ns())
