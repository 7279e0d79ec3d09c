"""The plugin's lifecycle hooks: each hands its call to the process's :class:`.tracing.Tracing`.

:mod:`.plugin` offers these hooks to the orchestrator only when an OTLP endpoint is set. The SDK
is loaded at the first pipeline that starts (``validate`` or ``plugins`` never pay for it), and
:func:`trace_to` sends the spans elsewhere, for a test or an exporter of your own: register this
module on the run's plugin manager yourself then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from orchestrator import hookimpl

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from orchestrator.context import PipelineContext, StepContext
    from orchestrator_plugin_opentelemetry.tracing import Tracing

_UNDECIDED: Any = object()
#: the process's tracing: undecided until the first hook, then a Tracing or None (export off)
_tracing: Tracing | None = _UNDECIDED


def _active() -> Tracing | None:
    global _tracing
    if _tracing is _UNDECIDED:
        from orchestrator_plugin_opentelemetry.plugin import export_enabled

        if export_enabled(os.environ):
            from orchestrator_plugin_opentelemetry.exporting import otlp_processor

            trace_to(otlp_processor(os.environ))
        else:
            _tracing = None
    return _tracing


def trace_to(processor: SpanProcessor) -> Tracing:
    """Send this process's spans through ``processor`` from now on, whatever the environment
    says (an in-memory exporter in tests, another exporter of your own). Ends the tracing that
    was in place, flushing what it held."""
    global _tracing
    from orchestrator_plugin_opentelemetry.tracing import Tracing

    if _tracing is not _UNDECIDED and _tracing is not None:
        _tracing.shutdown()
    _tracing = Tracing(processor)
    return _tracing


def reset() -> None:
    """Forget the process's tracing (ending it): the next hook looks at the environment again."""
    global _tracing
    if _tracing is not _UNDECIDED and _tracing is not None:
        _tracing.shutdown()
    _tracing = _UNDECIDED


@hookimpl
def before_pipeline_run(context: PipelineContext) -> None:
    tracing = _tracing if _tracing is not _UNDECIDED else _active()
    if tracing is not None:
        tracing.pipeline_started(context)


@hookimpl
def before_phase_run(context: PipelineContext, phase: str) -> None:
    if _tracing is not None and _tracing is not _UNDECIDED:
        _tracing.phase_started(context, phase)


@hookimpl
def before_step_run(context: StepContext) -> None:
    if _tracing is not None and _tracing is not _UNDECIDED:
        _tracing.step_started(context)


@hookimpl
def on_step_error(context: StepContext, error: BaseException) -> None:
    if _tracing is not None and _tracing is not _UNDECIDED:
        _tracing.step_error(context, error)


@hookimpl
def on_retry_exhausted(context: PipelineContext, step: str | None, attempts: int) -> None:
    if _tracing is not None and _tracing is not _UNDECIDED:
        _tracing.retry_exhausted(context, step, attempts)


@hookimpl
def after_step_run(context: StepContext, rows: int | None, status: str) -> None:
    if _tracing is not None and _tracing is not _UNDECIDED:
        _tracing.step_finished(context, rows, status)


@hookimpl
def after_phase_run(context: PipelineContext, phase: str, status: str) -> None:
    if _tracing is not None and _tracing is not _UNDECIDED:
        _tracing.phase_finished(context, phase, status)


@hookimpl
def on_pipeline_error(context: PipelineContext, error: BaseException) -> None:
    if _tracing is not None and _tracing is not _UNDECIDED:
        _tracing.pipeline_error(context, error)


@hookimpl
def after_pipeline_run(context: PipelineContext, status: str) -> None:
    if _tracing is not None and _tracing is not _UNDECIDED:
        _tracing.pipeline_finished(context, status)
