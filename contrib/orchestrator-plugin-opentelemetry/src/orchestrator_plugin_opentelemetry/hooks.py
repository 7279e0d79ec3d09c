"""The plugin's hooks. :mod:`.plugin` offers them only when an OTLP endpoint is set, and the
step hooks only in worker processes; :func:`.tracing.trace_to` registers the consumer on a
run's plugins for an exporter of your own.

- ``register_event_consumers`` registers the consumer that turns each run's events into its
  spans, in the run's own process (:func:`.tracing.start`, imported when a run starts). There,
  the consumer also makes each step's span the current OpenTelemetry context as the step starts
  (its ``step_started`` event arrives in the task that runs the step).
- ``before_step_run`` does the same in a worker process, where no consumer runs
  (:mod:`.propagation`), so spans the step's own code creates there are its children too;
  ``after_pipeline_run`` forgets the pipeline's count of step starts there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator import hookimpl

if TYPE_CHECKING:
    from orchestrator.context import PipelineContext, StepContext
    from orchestrator.plugins.registry import Register

#: the name the consumer is registered under (``orchestrator plugins`` lists it)
CONSUMER = "opentelemetry"


@hookimpl
def register_event_consumers(register: Register) -> None:
    register(CONSUMER, "orchestrator_plugin_opentelemetry.tracing:start",
             description="a trace of every run, spans for pipelines, phases, steps and attempts")


@hookimpl
def before_step_run(context: StepContext, args: dict[str, Any]) -> None:
    if context.trace_context:
        from orchestrator_plugin_opentelemetry.propagation import enter_step

        enter_step(context)


@hookimpl
def after_pipeline_run(context: PipelineContext, status: str, elapsed: float) -> None:
    if context.trace_context:
        from orchestrator_plugin_opentelemetry.propagation import forget_pipeline

        forget_pipeline(context)


class RunProcess:
    """The hooks of a run's own process alone (what :func:`.tracing.trace_to` adds)."""

    register_event_consumers = staticmethod(register_event_consumers)
