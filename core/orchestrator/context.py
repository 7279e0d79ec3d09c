"""What a step (and a lifecycle hook) is told about where it runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class PipelineContext:
    """The run and pipeline a hook or step belongs to."""

    __slots__ = ("run_id", "pipeline", "params", "base_dir", "allowed_paths")

    def __init__(
        self,
        run_id: str,
        pipeline: str,
        params: Mapping[str, Any],
        base_dir: Path,
        allowed_paths: tuple[Path, ...] = (),
    ) -> None:
        self.run_id = run_id
        self.pipeline = pipeline
        self.params = params
        self.base_dir = base_dir
        self.allowed_paths = allowed_paths

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """Logger ``orchestrator.run.<pipeline>``, whose records carry ``pipeline`` (and ``step``)
        so ``orchestrator run`` can show them beside the progress. Created on first use, as most
        steps never log."""
        return logging.LoggerAdapter(
            logging.getLogger(f"orchestrator.run.{self.pipeline}"), {"run_id": self.run_id, "pipeline": self.pipeline, "step": None}
        )

    def path(self, value: str | Path) -> Path:
        """A path from the config, resolved against the pipeline file's directory (not the
        current directory), so a pipeline runs the same from wherever it is started.

        It must stay inside that directory or one listed under ``allowed_paths`` in the config: a
        config (or a value substituted into it) cannot make a step read or write elsewhere."""
        candidate = Path(value).expanduser()
        full = candidate if candidate.is_absolute() else self.base_dir / candidate
        real = full.resolve()
        for root in (self.base_dir, *self.allowed_paths):
            if real.is_relative_to(root.resolve()):
                return full
        from orchestrator.errors import StepError

        raise StepError(
            f"{value} is outside the pipeline's directory {self.base_dir}; "
            "list the directory under 'allowed_paths' in the config to allow it"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} run={self.run_id} pipeline={self.pipeline}>"


class StepContext(PipelineContext):
    """A :class:`PipelineContext` plus the step: its phase, id and plugin name."""

    __slots__ = ("phase", "step_id", "plugin")

    def __init__(
        self,
        run_id: str,
        pipeline: str,
        params: Mapping[str, Any],
        base_dir: Path,
        phase: str,
        step_id: str,
        plugin: str,
        allowed_paths: tuple[Path, ...] = (),
    ) -> None:
        super().__init__(run_id, pipeline, params, base_dir, allowed_paths)
        self.phase = phase
        self.step_id = step_id
        self.plugin = plugin

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """Logger ``orchestrator.run.<pipeline>.<step id>``, records carrying both names."""
        return logging.LoggerAdapter(
            logging.getLogger(f"orchestrator.run.{self.pipeline}.{self.step_id}"),
            {"run_id": self.run_id, "pipeline": self.pipeline, "step": self.step_id},
        )

    def __repr__(self) -> str:
        return f"<StepContext run={self.run_id} pipeline={self.pipeline} step={self.step_id}>"
