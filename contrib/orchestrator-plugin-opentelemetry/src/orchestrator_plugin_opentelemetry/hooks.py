"""The plugin's step hooks, for worker processes (:mod:`.plugin` offers them there only when the
environment names an OTLP endpoint); :func:`.tracing.trace_to` adds the consumer's registration
to a run's plugins for an exporter of your own.

- ``before_step_run`` makes the step's span the current OpenTelemetry context in a worker process,
  where no consumer runs (:mod:`.propagation`), so spans the step's own code creates there are its
  children; in the run's own process, the consumer does it as the step's ``step_started`` event
  arrives (in the task that runs the step);
- ``after_pipeline_run`` forgets the pipeline's count of step starts there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator import hookimpl
from orchestrator_plugin_opentelemetry import plugin

if TYPE_CHECKING:
    from orchestrator.context import PipelineContext, StepContext
    from orchestrator.plugins.registry import Register


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

    @staticmethod
    @hookimpl
    def register_event_consumers(register: Register) -> None:
        plugin.register_event_consumers(register)
