"""From a run's events to its spans: one trace per run, a span for the run, each pipeline, phase
and step, and each attempt of a step.

One :class:`RunTrace` consumes one run's event stream in the run's own process, where every
event arrives, those of pipelines that ran in workers included, so the whole tree is built in
one place, with the times the events carry (taken where they happened). The run span takes the
ids of the run's ``traceparent``; a step span takes the id :mod:`.ids` derives, the one a worker
made current while the step's own code ran (:mod:`.propagation`), and is made current here for
a step that runs in this process; the others get random ids.

Why the spans are built as finished :class:`~opentelemetry.sdk.trace.ReadableSpan` records and
handed to the span processor, rather than started and ended through the SDK's tracer: a span
here is known whole only at its end event (its start is an earlier event, maybe from another
process), and the SDK's live span (a sampler call, a lock, attribute validation and a context
per span, for two spans per step) costs several times the 30 µs per step this plugin may add.
The record is what the SDK itself hands its processors at a span's end. Sampling is decided once
per run, on the run span, by the provider's sampler (``OTEL_TRACES_SAMPLER``): a run is traced
whole or not at all, as the default parent-based sampler would have it.

Error texts come from the events, already redacted with the run's secrets; the secret-looking
values of this process's environment are hidden too, as the run's own output hides them. No
stack trace is recorded: it can quote anything.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from orchestrator.config.interpolate import redactor, secret_environment
from orchestrator.events import FAILED, INTERRUPTED, Event, Kind
from orchestrator.tracecontext import parse_traceparent
from orchestrator_plugin_opentelemetry.exporting import FLUSH_SECONDS, provider
from orchestrator_plugin_opentelemetry.ids import step_span_id
from orchestrator_plugin_opentelemetry.propagation import make_current

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from orchestrator.consumers import RunStart

#: the statuses that make a span's status ERROR
ERROR_STATUSES = frozenset({FAILED, INTERRUPTED})
_NS = 1_000_000_000
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)
_SCOPE = InstrumentationScope("orchestrator_plugin_opentelemetry")


class Tracer:
    """The process's tracer provider (resource, sampler, flush at exit) and its processor."""

    def __init__(self, processor: SpanProcessor, service_name: str | None = None) -> None:
        self.processor = processor
        self.provider = provider(processor, service_name)
        self.resource = self.provider.resource
        self.redact = redactor(frozenset(secret_environment(os.environ)))

    def samples(self, trace_id: int, name: str) -> bool:
        """Whether the provider's sampler keeps the trace of a run."""
        return self.provider.sampler.should_sample(None, trace_id, name).decision.is_sampled()

    def flush(self) -> bool:
        """Send every ended span now, waiting at most :data:`FLUSH_SECONDS`."""
        return self.provider.force_flush(int(FLUSH_SECONDS * 1000))

    def shutdown(self) -> None:
        self.provider.shutdown()


class _Open:
    """A span that started and has not ended: what its end needs to build the record."""

    __slots__ = ("attributes", "context", "events", "name", "parent", "start")

    def __init__(self, name: str, context: SpanContext, parent: SpanContext | None, start: float,
                 attributes: dict[str, Any]) -> None:
        self.name = name
        self.context = context
        self.parent = parent
        self.start = start
        self.attributes = attributes
        self.events: list[SpanEvent] = []


class _Step:
    __slots__ = ("attempt", "attempt_span", "span")

    def __init__(self, span: _Open, attempt_span: _Open) -> None:
        self.span = span
        self.attempt = 1
        self.attempt_span = attempt_span


class _Pipeline:
    """A pipeline's open span, its open phases and steps, and how often each step started."""

    __slots__ = ("attempt", "phases", "span", "started", "steps")

    def __init__(self, span: _Open) -> None:
        self.span = span
        self.attempt = 1
        self.phases: dict[str, _Open] = {}
        self.steps: dict[str, _Step] = {}
        self.started: dict[tuple[str, str], int] = {}


class RunTrace:
    """The event consumer of one run: call it with each event of the run."""

    def __init__(self, tracer: Tracer, run: RunStart, trace_id: int, span_id: int) -> None:
        self.tracer = tracer
        self.run_id = run.run_id
        self.config = Path(run.config).name
        self.traceparent = run.trace_context["traceparent"]
        self.trace_id = trace_id
        self.run_context = SpanContext(trace_id, span_id, False, _SAMPLED)
        self.span: _Open | None = None
        self.pipelines: dict[str, _Pipeline] = {}
        self._handlers = {
            Kind.RUN_STARTED: self._run_started, Kind.RUN_FINISHED: self._run_finished,
            Kind.PIPELINE_STARTED: self._pipeline_started, Kind.PIPELINE_FINISHED: self._pipeline_finished,
            Kind.PIPELINE_RETRY: self._pipeline_retry, Kind.PIPELINE_SKIPPED: self._pipeline_passed,
            Kind.PIPELINE_REUSED: self._pipeline_passed, Kind.PHASE_STARTED: self._phase_started,
            Kind.PHASE_FINISHED: self._phase_finished, Kind.STEP_STARTED: self._step_started,
            Kind.STEP_FINISHED: self._step_ended, Kind.STEP_FAILED: self._step_ended, Kind.STEP_RETRY: self._step_retry,
            Kind.STEP_REUSED: self._step_reused, Kind.RETRY_EXHAUSTED: self._retry_exhausted,
        }

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(event.kind)
        if handler is not None:
            handler(event)

    # -- making spans ----------------------------------------------------------------------------

    def _open(self, name: str, parent: SpanContext, at: float, attributes: dict[str, Any], span_id: int = 0) -> _Open:
        context = SpanContext(self.trace_id, span_id or random.getrandbits(64) or 1, False, _SAMPLED)
        return _Open(name, context, parent, at, attributes)

    def _end(self, span: _Open, at: float, status: str) -> None:
        """Hand the finished span to the processor (which queues it for export)."""
        span.attributes["orchestrator.status"] = status
        self.tracer.processor.on_end(ReadableSpan(
            span.name, span.context, span.parent, self.tracer.resource, span.attributes, span.events, (),
            SpanKind.INTERNAL, None, Status(StatusCode.ERROR, status) if status in ERROR_STATUSES else _UNSET,
            int(span.start * _NS), int(at * _NS), _SCOPE,
        ))

    # -- the run -------------------------------------------------------------------------------

    def _run_started(self, event: Event) -> None:
        self.span = _Open(f"run {self.config}", self.run_context, None, event.time,
                          {"orchestrator.run_id": self.run_id, "orchestrator.config": self.config})

    def _run_finished(self, event: Event) -> None:
        for pipeline in self.pipelines.values():  # what an executor's failure left open
            self._end(pipeline.span, event.time, INTERRUPTED)
        self.pipelines.clear()
        if self.span is not None:
            self._end(self.span, event.time, event.status or FAILED)
        self.tracer.flush()  # the run's process may exit right after

    # -- pipelines and phases ------------------------------------------------------------------

    def _pipeline_span(self, event: Event) -> _Open:
        return self._open(f"pipeline {event.pipeline}", self.run_context, event.time,
                          {"orchestrator.run_id": self.run_id, "orchestrator.pipeline": event.pipeline or ""})

    def _pipeline_started(self, event: Event) -> None:
        self.pipelines[event.pipeline or ""] = _Pipeline(self._pipeline_span(event))

    def _pipeline_retry(self, event: Event) -> None:
        pipeline = self.pipelines.get(event.pipeline or "")
        if pipeline is not None:
            pipeline.attempt = event.attempt or pipeline.attempt + 1
            pipeline.span.events.append(SpanEvent("retry", self._error_attributes(event), int(event.time * _NS)))

    def _pipeline_finished(self, event: Event) -> None:
        pipeline = self.pipelines.pop(event.pipeline or "", None)
        if pipeline is None:  # it never started here: an executor failed it, or it was interrupted before
            self._pipeline_passed(event)
            return
        pipeline.span.attributes["orchestrator.attempts"] = event.attempt or 1
        if event.status in ERROR_STATUSES:
            self._mark_error(pipeline.span, event)
        self._end(pipeline.span, event.time, event.status or FAILED)

    def _pipeline_passed(self, event: Event) -> None:
        """A pipeline that did not run: skipped, reused by ``--resume``, failed by its executor."""
        span = self._pipeline_span(event)
        if event.status in ERROR_STATUSES:
            self._mark_error(span, event)
        self._end(span, event.time, event.status or FAILED)

    def _phase_started(self, event: Event) -> None:
        pipeline = self.pipelines.get(event.pipeline or "")
        if pipeline is not None:
            pipeline.phases[event.phase or ""] = self._open(f"{event.phase} {event.pipeline}", pipeline.span.context, event.time, {
                "orchestrator.run_id": self.run_id, "orchestrator.pipeline": event.pipeline or "",
                "orchestrator.phase": event.phase or "", "orchestrator.pipeline_attempt": pipeline.attempt,
            })

    def _phase_finished(self, event: Event) -> None:
        pipeline = self.pipelines.get(event.pipeline or "")
        span = None if pipeline is None else pipeline.phases.pop(event.phase or "", None)
        if span is not None:
            self._end(span, event.time, event.status or FAILED)

    # -- steps and attempts ----------------------------------------------------------------------

    def _step_started(self, event: Event) -> None:
        pipeline = self.pipelines.get(event.pipeline or "")
        if pipeline is None:
            return
        name, phase, step = event.pipeline or "", event.phase or "", event.step or ""
        occurrence = pipeline.started[phase, step] = pipeline.started.get((phase, step), 0) + 1
        opened = pipeline.phases.get(phase)
        span = self._open(f"step {step}", (pipeline.span if opened is None else opened).context, event.time, {
            "orchestrator.run_id": self.run_id, "orchestrator.pipeline": name, "orchestrator.phase": phase,
            "orchestrator.step": step, "orchestrator.plugin": event.plugin or "", "orchestrator.pipeline_attempt": pipeline.attempt,
        }, step_span_id(self.traceparent, name, phase, step, occurrence))
        pipeline.steps[step] = _Step(span, self._attempt(span, 1, event.time))
        # a step of this process starts in the task this event is emitted from: its code's spans
        # become children of its span (a worker's event, relayed here, sets it in a context of
        # the relay's own, which nothing else uses; the worker's hook does it there)
        make_current(span.context)

    def _attempt(self, step: _Open, number: int, at: float) -> _Open:
        attributes = step.attributes
        return self._open(f"attempt {number}", step.context, at, {
            "orchestrator.run_id": self.run_id, "orchestrator.pipeline": attributes["orchestrator.pipeline"],
            "orchestrator.step": attributes["orchestrator.step"], "orchestrator.attempt": number,
        })

    def _step_retry(self, event: Event) -> None:
        """An attempt failed and the next starts after the wait the event carries."""
        pipeline = self.pipelines.get(event.pipeline or "")
        opened = None if pipeline is None else pipeline.steps.get(event.step or "")
        if opened is None:
            return
        self._mark_error(opened.attempt_span, event)
        self._end(opened.attempt_span, event.time, FAILED)
        opened.attempt = event.attempt or opened.attempt + 1
        opened.attempt_span = self._attempt(opened.span, opened.attempt, event.time + (event.elapsed or 0.0))

    def _step_ended(self, event: Event) -> None:
        pipeline = self.pipelines.get(event.pipeline or "")
        opened = None if pipeline is None else pipeline.steps.pop(event.step or "", None)
        if opened is None:
            return
        status = event.status or FAILED
        span, attempt = opened.span, opened.attempt_span
        if event.rows is not None:
            span.attributes["orchestrator.rows"] = attempt.attributes["orchestrator.rows"] = event.rows
        if event.rows_in is not None:
            span.attributes["orchestrator.rows_in"] = event.rows_in
        if event.rejected:
            span.attributes["orchestrator.rejected"] = event.rejected
        span.attributes["orchestrator.attempts"] = opened.attempt
        if event.kind is Kind.STEP_FAILED:
            self._mark_error(attempt, event)
            self._mark_error(span, event)
        self._end(attempt, event.time, status)
        self._end(span, event.time, status)

    def _step_reused(self, event: Event) -> None:
        pipeline = self.pipelines.get(event.pipeline or "")
        if pipeline is None:
            return
        opened = pipeline.phases.get(event.phase or "")
        span = self._open(f"step {event.step}", (pipeline.span if opened is None else opened).context, event.time, {
            "orchestrator.run_id": self.run_id, "orchestrator.pipeline": event.pipeline or "",
            "orchestrator.phase": event.phase or "", "orchestrator.step": event.step or "",
            "orchestrator.plugin": event.plugin or "", "orchestrator.reused": True,
        })
        self._end(span, event.time, event.status or FAILED)

    def _retry_exhausted(self, event: Event) -> None:
        pipeline = self.pipelines.get(event.pipeline or "")
        if pipeline is None:
            return
        opened = pipeline.steps.get(event.step) if event.step is not None else None
        span = pipeline.span if opened is None else opened.span
        span.events.append(SpanEvent("retry_exhausted", {"orchestrator.attempts": event.attempts or 0}, int(event.time * _NS)))

    # -- errors ----------------------------------------------------------------------------------

    def _error_attributes(self, event: Event) -> dict[str, Any]:
        found = {"orchestrator.error": self.tracer.redact(event.error or "")}
        if event.error_type:
            found["error.type"] = event.error_type
        return found

    def _mark_error(self, span: _Open, event: Event) -> None:
        """What the event says of a failure, on the span, with an ``exception`` event."""
        if not event.error:
            return
        attributes = self._error_attributes(event)
        span.attributes.update(attributes)
        span.events.append(SpanEvent("exception", {
            "exception.type": event.error_type or event.status or FAILED, "exception.message": attributes["orchestrator.error"],
        }, int(event.time * _NS)))


def run_trace(tracer: Tracer, run: RunStart) -> RunTrace | None:
    """The consumer of ``run``, or None when its trace context is unusable or the sampler drops it."""
    parsed = parse_traceparent(run.trace_context.get("traceparent", ""))
    if parsed is None or not tracer.samples(parsed[0], f"run {Path(run.config).name}"):
        return None
    return RunTrace(tracer, run, parsed[0], parsed[1])
