"""Dead letters: the rows transform and load steps rejected, kept with the error and the step.

A transform or load step with ``on_error: dead_letter`` sets aside a row it cannot handle with
``ctx.reject(row, error)``; the engine does the same for a transform that raised on a batch (it
applies the step to each row of the batch alone and rejects the rows that raise). Each rejected row
becomes one line of JSON in ``<state directory>/dead-letters/<run id>/<pipeline>.jsonl``::

    {"run_id": "20261121T110650-0a965d", "pipeline": "orders", "phase": "load", "step": "to_db",
     "plugin": "sqlite.write", "position": 17, "error": "IntegrityError: NOT NULL constraint failed: orders.amount",
     "time": 1795259210.2, "row": {"id": 17, "amount": null}}

There is one file per pipeline of a run, so one process writes each (the process executor runs a
whole pipeline in one worker); the threads of that process share it through a lock. Values JSON
has no type for (dates, decimals, bytes) are written as their text.

``orchestrator run CONFIG --replay-dead-letters RUN_ID`` runs the rows of a run's dead letters again,
in a new run, each from the step that rejected it: see :func:`replayable`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from orchestrator.config.policies import DEAD_LETTER
from orchestrator.errors import OrchestratorError
from orchestrator.runstate.layout import check_run_id, run_folder

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec, Plan
    from orchestrator.context import StepContext

#: in a replaying run's folder: the id of the run whose dead letters it replays
REPLAY_OF = "replay-of"


class DeadLetterError(OrchestratorError):
    """Dead letters cannot be read or replayed; the message says why and what to do."""


def pipeline_file(folder: Path, run_id: str, pipeline: str) -> Path:
    """Where a pipeline's dead letters of a run are: ``<folder>/<run id>/<pipeline>.jsonl``."""
    return run_folder(folder, run_id) / f"{pipeline}.jsonl"


def source_run(path: Path) -> str:
    """The run a dead-letter file belongs to (the name of its folder)."""
    return path.parent.name


def uses_dead_letters(spec: PipelineSpec) -> bool:
    """Whether a step of the pipeline sends rejected rows to the dead letters."""
    return any(step.on_error == DEAD_LETTER for steps in spec.phases.values() for step in steps)


@dataclass(frozen=True, slots=True)
class DeadLetterFolder:
    """The dead-letter store of a state directory (``<state directory>/dead-letters``): one
    folder per run, one file per pipeline. What the engine's
    :class:`~orchestrator.engine.ports.DeadLetterStore` port is given; plain data (the secrets,
    not a redacting function), so it ships to executors in other processes."""

    folder: Path
    secrets: frozenset[str] = frozenset()

    def open(self, run_id: str, pipeline: PipelineSpec) -> DeadLetterFile | None:
        if not uses_dead_letters(pipeline):
            return None
        from orchestrator.config.interpolate import redactor

        return DeadLetterFile(pipeline_file(self.folder, run_id, pipeline.name), redactor(self.secrets))

    def rows_by_step(self, source: Path) -> dict[str, list[Any]]:
        return rows_by_step(source)

    def load_id(self, source: Path, pipeline: str, step: str) -> str:
        return f"{source_run(source)}/{pipeline}/{step}/replay"


class DeadLetterFile:
    """The dead letters of one pipeline of one run, appended to from any thread. Each line is
    flushed as it is written, so ``orchestrator runs show`` counts them while the run goes on."""

    def __init__(self, path: Path, redact: Callable[[str], str] = lambda text: text) -> None:
        self.path = path
        self.redact = redact  # an error's text may quote a secret substituted into the config
        self.lock = threading.Lock()
        self.file: IO[str] | None = None
        #: (step, position) of the rows written, read from the file of an earlier attempt when
        #: first needed: a row rejected again by a retried or resumed step is written once
        self.positions: set[tuple[str, int]] | None = None

    def add(self, context: StepContext, row: Any, error: str, position: int | None) -> None:
        record: dict[str, Any] = {
            "run_id": context.run_id,
            "pipeline": context.pipeline,
            "phase": context.phase,
            "step": context.step_id,
            "plugin": context.plugin,
        }
        if position is not None:
            record["position"] = position
        record.update(error=self.redact(error), time=time.time(), row=row)
        try:
            line = json.dumps(record, default=str, ensure_ascii=False)
        except ValueError:  # a row that contains itself
            line = json.dumps({**record, "row": repr(row)}, default=str, ensure_ascii=False)
        with self.lock:
            if position is not None:
                if self.positions is None:
                    self.positions = {(r["step"], r["position"]) for r in _records(self.path) if "position" in r}
                if (context.step_id, position) in self.positions:
                    return
                self.positions.add((context.step_id, position))
            if self.file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.file = self.path.open("a", encoding="utf-8")
            self.file.write(line + "\n")
            self.file.flush()

    def close(self) -> None:
        with self.lock:
            if self.file is not None:
                self.file.close()
                self.file = None

    def written(self) -> str | None:
        """The file, when it holds rows (of this attempt or an earlier one of the run)."""
        return str(self.path) if self.path.is_file() else None


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a dead-letter file, in the order they were written (none when it does not
    exist). A last line cut short (the process was killed while writing it) is left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    lines = text.split("\n")
    for number, line in enumerate(lines[:-1], 1):  # after the last "\n": empty, or cut short
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise DeadLetterError(f"{path}:{number}: not a dead letter (not a line of JSON)") from None
        if not isinstance(record, dict) or not {"phase", "step", "row"} <= record.keys():
            raise DeadLetterError(f"{path}:{number}: not a dead letter (it needs phase, step and row)")
        yield record


def rows_by_step(path: Path) -> dict[str, list[Any]]:
    """The rows of a dead-letter file by the id of the step that rejected them, in file order."""
    rows: dict[str, list[Any]] = {}
    for record in _records(path):
        rows.setdefault(record["step"], []).append(record["row"])
    return rows


def run_files(folder: Path, run_id: str) -> dict[str, Path]:
    """A run's dead-letter files that hold rows, by pipeline."""
    directory = run_folder(folder, run_id)
    if not directory.is_dir():
        return {}
    return {path.stem: path for path in sorted(directory.glob("*.jsonl")) if path.stat().st_size}


def counts(folder: Path, run_id: str) -> list[dict[str, Any]]:
    """What a run dead-lettered: per pipeline and step, the rows and the file they are in."""
    found = []
    for pipeline, path in run_files(folder, run_id).items():
        per_step: dict[tuple[str, str], int] = {}
        for record in _records(path):
            key = (record["phase"], record["step"])
            per_step[key] = per_step.get(key, 0) + 1
        found += [
            {"pipeline": pipeline, "phase": phase, "step": step, "rows": rows, "file": str(path)}
            for (phase, step), rows in per_step.items()
        ]
    return found


def page(folder: Path, run_id: str, pipeline: str | None, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Records ``offset`` to ``offset + limit`` of a run's dead letters (of one pipeline, when
    given), pipeline by pipeline in file order, and whether more follow."""
    found: list[dict[str, Any]] = []
    seen = 0
    for name, path in run_files(folder, run_id).items():
        if pipeline is not None and name != pipeline:
            continue
        for record in _records(path):
            if seen >= offset + limit:
                return found, True
            if seen >= offset:
                found.append(record)
            seen += 1
    return found, False


def replayable(folder: Path, run_id: str, plan: Plan, selected: Iterable[str] = ()) -> dict[str, Path]:
    """The dead-letter files of run ``run_id`` to replay with this plan, by pipeline (only the
    ``selected`` pipelines, when some are). Every pipeline and step that rejected rows must still
    be in the config, in the same phase; :class:`DeadLetterError` says what is not."""
    files = run_files(folder, run_id)
    wanted = set(selected)
    if wanted:
        files = {name: path for name, path in files.items() if name in wanted}
    if not files:
        which = f" of {', '.join(repr(n) for n in sorted(wanted))}" if wanted else ""
        raise DeadLetterError(f"run {run_id} has no dead letters{which} (looked in {folder / run_id})")
    problems = []
    for name, path in files.items():
        spec = plan.pipelines.get(name)
        if spec is None:
            problems.append(f"pipeline {name!r} has dead letters in run {run_id} but is no longer in {plan.source.name}")
            continue
        steps = {(step.phase, step.id) for phase in spec.phases.values() for step in phase}
        for key in sorted({(r["phase"], r["step"]) for r in _records(path)}):
            if key not in steps:
                problems.append(
                    f"step {key[1]!r} ({key[0]}) of pipeline {name!r} rejected rows in run {run_id} "
                    f"but is no longer in the {key[0]} phase of {plan.source.name}"
                )
    if problems:
        raise DeadLetterError("\n".join(problems))
    return files


def mark_replay(folder: Path, run_id: str, source: str) -> None:
    """Note that run ``run_id`` replays the dead letters of run ``source``."""
    directory = run_folder(folder, run_id)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / REPLAY_OF).write_text(check_run_id(source) + "\n", encoding="utf-8")


def replay_of(folder: Path, run_id: str) -> str | None:
    """The run whose dead letters run ``run_id`` replayed, if it did."""
    try:
        return (run_folder(folder, run_id) / REPLAY_OF).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
