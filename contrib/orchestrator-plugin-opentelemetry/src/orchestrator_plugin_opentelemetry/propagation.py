"""The step's span as the current OpenTelemetry context while the step runs, in a worker process
(``before_step_run``) and in the run's own process (the consumer, :mod:`.spans`, as the step's
``step_started`` event arrives): spans the step's own code creates (an instrumented HTTP client or database
driver, ``tracer.start_as_current_span`` in a step) are then children of the step's span, in
the run's trace, also inside ``process`` and ``dask`` workers.

The step's span itself is made in the run's process, from its events (:mod:`.spans`); here only
its identity is needed: the trace id from the run's ``traceparent`` that every context carries
(the core ships it with the job), and the span id both sides derive (:mod:`.ids`). The context
is a non-recording span with those ids, as a context extracted from an incoming ``traceparent``
header would be, so nothing is exported from here.

``before_step_run`` fires in the task that goes on to call the step, and the engine runs a sync
step in a thread that inherits the task's context variables: setting the context in the hook is
enough. It is not put back when the step ends: the engine makes no span of its own, the next
step of the task sets its own, and the task ends with its pipeline. One hook per step, not two,
keeps within the cost a step may pay for tracing (see the docs page's Cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from orchestrator.tracecontext import parse_traceparent
from orchestrator_plugin_opentelemetry.ids import step_span_id

if TYPE_CHECKING:
    from orchestrator.context import PipelineContext, StepContext

#: the trace id and flags of each run's traceparent, parsed once
_runs: dict[str, tuple[int, TraceFlags]] = {}
#: how many times each (phase, step) started, per run (its traceparent) and pipeline; each
#: pipeline's counts are touched by that pipeline's one event loop only
_started: dict[tuple[str, str], dict[tuple[str, str], int]] = {}


def enter_step(context: StepContext) -> None:
    """Make ``context``'s step span the current context (from here, and in the step's thread)."""
    traceparent = context.trace_context.get("traceparent", "")
    run = _runs.get(traceparent)
    if run is None:
        parsed = parse_traceparent(traceparent)
        if parsed is None:
            return
        run = _runs[traceparent] = (parsed[0], TraceFlags(parsed[2]))
    counts = _started.get((traceparent, context.pipeline))
    if counts is None:
        counts = _started[traceparent, context.pipeline] = {}
    place = (context.phase, context.step_id)
    occurrence = counts[place] = counts.get(place, 0) + 1
    make_current(SpanContext(run[0], step_span_id(traceparent, context.pipeline, context.phase, context.step_id, occurrence),
                             True, run[1]))


def make_current(step: SpanContext) -> None:
    """Make the span ``step`` identifies the current context of this task (and of the threads
    it starts from here on)."""
    otel_context.attach(trace.set_span_in_context(NonRecordingSpan(step)))


def forget_pipeline(context: PipelineContext) -> None:
    """The pipeline ended: its step counts are no longer needed, nor, after a run's last
    pipeline here, the run's parsed traceparent."""
    traceparent = context.trace_context.get("traceparent", "")
    _started.pop((traceparent, context.pipeline), None)
    if not any(key[0] == traceparent for key in _started):
        _runs.pop(traceparent, None)
