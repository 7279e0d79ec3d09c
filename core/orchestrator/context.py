"""What a step (and a lifecycle hook) is told about where it runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from orchestrator.config.policies import DEAD_LETTER, FAIL

#: the trace context of a run started without one
_NO_TRACE: Mapping[str, str] = {}


class PipelineContext:
    """The run and pipeline a hook or step belongs to."""

    __slots__ = ("allowed_paths", "base_dir", "params", "pipeline", "run_id", "trace_context")

    def __init__(
        self,
        run_id: str,
        pipeline: str,
        params: Mapping[str, Any],
        base_dir: Path,
        allowed_paths: tuple[Path, ...] = (),
        trace_context: Mapping[str, str] = _NO_TRACE,
    ) -> None:
        self.run_id = run_id
        self.pipeline = pipeline
        self.params = params
        self.base_dir = base_dir
        self.allowed_paths = allowed_paths
        #: the run's W3C trace context (``traceparent``), the same in every process of the run;
        #: empty when the run was started without one (see :mod:`orchestrator.tracecontext`)
        self.trace_context = trace_context

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


class DeadLetterSink(Protocol):
    """Where a step's dead-lettered rows go (:class:`orchestrator.runstate.deadletters.DeadLetterFile`)."""

    def add(self, context: StepContext, row: Any, error: str, position: int | None) -> None: ...


#: guards the rejected-row counts, which sync steps may update from several threads
_counting = threading.Lock()


class StepContext(PipelineContext):
    """A :class:`PipelineContext` plus the step: its phase, id and plugin name, and what happens
    to a row it rejects (``on_error``, see :meth:`reject`)."""

    __slots__ = (
        "_dead_letters", "_load_id", "bytes_read", "bytes_written", "cpu", "on_error", "phase", "plugin", "rejected",
        "replaying", "step_id",
    )

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
        *,
        on_error: str = FAIL,
        dead_letters: DeadLetterSink | None = None,
        load_id: str | None = None,
        replaying: bool = False,
        trace_context: Mapping[str, str] = _NO_TRACE,
    ) -> None:
        super().__init__(run_id, pipeline, params, base_dir, allowed_paths, trace_context)
        self.phase = phase
        self.step_id = step_id
        self.plugin = plugin
        #: the step's ``on_error``: ``fail``, ``skip`` or ``dead_letter``
        self.on_error = on_error
        #: rows rejected so far (skipped or dead-lettered)
        self.rejected = 0
        self._dead_letters = dead_letters
        self._load_id = load_id
        #: whether this run replays an earlier run's dead letters: a load then adds to what it
        #: wrote before (the rows the earlier run loaded are still wanted), never replaces it
        self.replaying = replaying
        #: what the step's current attempt used: CPU seconds (measured by the engine), and the
        #: bytes it reported through :meth:`add_bytes`
        self.cpu = 0.0
        self.bytes_read = 0
        self.bytes_written = 0

    def add_bytes(self, *, read: int = 0, written: int = 0) -> None:
        """Report bytes this step read or wrote (a file's size, a response's length): they are
        added up per attempt, recorded in the run history and shown by ``orchestrator runs show``.
        Callable from any thread; a step that cannot tell reports nothing."""
        with _counting:
            self.bytes_read += read
            self.bytes_written += written

    def reject(self, row: Any, error: BaseException | str, *, position: int | None = None) -> None:
        """Set aside a row this step cannot handle, as the step's ``on_error`` says, and go on
        with the others: ``fail`` (the default) raises :class:`~orchestrator.errors.StepError`
        naming the row and the error, which fails the step; ``skip`` drops the row; ``dead_letter``
        writes it, with the error and the step, to the run's dead letters (see
        :mod:`orchestrator.runstate.deadletters`). Skipped and dead-lettered rows are counted.

        ``position`` is the row's number in the step's input, counting from 0 across batches,
        when the step knows it: it is recorded, and a row rejected again at the same position (by
        a retried or resumed step) is written once. Callable from any thread."""
        from orchestrator.errors import StepError, describe

        text = error if isinstance(error, str) else describe(error)
        if self.on_error == FAIL:
            raise StepError(f"{'a row' if position is None else f'row {position}'} was rejected: {text}")
        with _counting:
            self.rejected += 1
        if self.on_error == DEAD_LETTER and self._dead_letters is not None:
            self._dead_letters.add(self, row, text, position)

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """Logger ``orchestrator.run.<pipeline>.<step id>``, records carrying both names."""
        return logging.LoggerAdapter(
            logging.getLogger(f"orchestrator.run.{self.pipeline}.{self.step_id}"),
            {"run_id": self.run_id, "pipeline": self.pipeline, "step": self.step_id},
        )

    @property
    def load_id(self) -> str:
        """The identity of this load within its run, the same on every retry and resume of the
        run: an idempotent loader records each batch it commits under ``(load_id, batch
        number)`` in the same transaction as the rows, and skips the batches recorded already.
        Batches arrive in the same order on every attempt (a resumed run reads them back from
        its checkpoint), so the numbers stay meaningful. A run that replays dead letters loads
        under an identity of the run it replays, the same on every replay of that run."""
        return self._load_id or f"{self.run_id}/{self.pipeline}/{self.step_id}"

    def __repr__(self) -> str:
        return f"<StepContext run={self.run_id} pipeline={self.pipeline} step={self.step_id}>"
