"""Recording lifecycle hook calls, for tests of plugins that implement or depend on them."""

from __future__ import annotations

from typing import Any

from orchestrator.plugins.hookspecs import hookimpl


class HookRecorder:
    """A plugin object that implements every lifecycle hook and records each call as
    ``(hook name, arguments)`` in :attr:`calls`, in the order they fired."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, hook: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == hook]

    @hookimpl
    def before_pipeline_run(self, context: Any) -> None:
        self.calls.append(("before_pipeline_run", {"context": context}))

    @hookimpl
    def after_pipeline_run(self, context: Any, status: str, elapsed: float) -> None:
        self.calls.append(("after_pipeline_run", {"context": context, "status": status, "elapsed": elapsed}))

    @hookimpl
    def on_pipeline_error(self, context: Any, error: BaseException) -> None:
        self.calls.append(("on_pipeline_error", {"context": context, "error": error}))

    @hookimpl
    def before_phase_run(self, context: Any, phase: str) -> None:
        self.calls.append(("before_phase_run", {"context": context, "phase": phase}))

    @hookimpl
    def after_phase_run(self, context: Any, phase: str, elapsed: float, status: str) -> None:
        self.calls.append(("after_phase_run", {"context": context, "phase": phase, "elapsed": elapsed, "status": status}))

    @hookimpl
    def before_step_run(self, context: Any, args: dict[str, Any]) -> None:
        self.calls.append(("before_step_run", {"context": context, "args": args}))

    @hookimpl
    def after_step_run(self, context: Any, rows: int | None, elapsed: float, status: str) -> None:
        self.calls.append(("after_step_run", {"context": context, "rows": rows, "elapsed": elapsed, "status": status}))

    @hookimpl
    def on_step_error(self, context: Any, error: BaseException) -> None:
        self.calls.append(("on_step_error", {"context": context, "error": error}))

    @hookimpl
    def on_retry_exhausted(self, context: Any, step: str | None, error: BaseException, attempts: int) -> None:
        self.calls.append(("on_retry_exhausted", {"context": context, "step": step, "error": error, "attempts": attempts}))
