"""``orchestrator run`` put together: the reporter, the run history, notifications, the engine,
and which earlier run ``--resume`` or ``--replay-dead-letters`` goes on from.

The CLI loads the plugins and the plan and maps the outcome to an exit status; everything between
is here. Input that is wrong (an unknown pipeline, a run that cannot be resumed) raises
:class:`LaunchError` before anything runs, with the message to print.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import OrchestratorError
from orchestrator.events import RunResult
from orchestrator.interpolate import redactor
from orchestrator.model import Plan
from orchestrator.plugins import Plugins
from orchestrator.progress import Progress
from orchestrator.state import SQLState

if TYPE_CHECKING:
    from orchestrator.checkpoints import CheckpointFolder
    from orchestrator.deadletters import DeadLetterFolder


class LaunchError(OrchestratorError):
    """The run cannot start as asked; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class Launch:
    """What ``orchestrator run`` was asked for, beyond the plan."""

    config: str
    selected: Sequence[str] = ()
    as_json: bool = False
    resume: str | None = None
    force: bool = False
    replay: str | None = None


def launch(plan: Plan, plugins: Plugins, asked: Launch) -> tuple[RunResult, str | None]:
    """Run the plan as asked; returns the result and, when the run history stopped recording
    during the run, why. Raises :class:`LaunchError` (nothing ran) or, from the engine,
    :class:`~orchestrator.errors.ConfigError` (the plan cannot go where its executor sends it)."""
    from orchestrator.engine import Engine, StepLogs, new_run_id
    from orchestrator.interrupts import run_until_interrupted
    from orchestrator.reporting import make_reporter, route_step_logs
    from orchestrator.state import StateError, state_for

    _check_selection(plan, asked)
    redact = redactor(plan.secrets)
    try:
        state = state_for(plan, redact)
    except StateError as exc:  # a store that cannot be opened: nothing has run yet
        raise LaunchError(str(exc)) from None
    try:
        letters = dead_letter_folder(plan)
        replayed = _replayed(state, plan, asked, letters) if asked.replay else None
        run_id, progress = _resumed(state, plan, asked) if asked.resume else (new_run_id(), None)
    except LaunchError:
        if state is not None:
            state.close()
        raise
    if asked.replay:
        from orchestrator.deadletters import mark_replay

        mark_replay(letters, run_id, asked.replay)
    reporter = make_reporter("json" if asked.as_json else ("live" if sys.stdout.isatty() else "plain"), sys.stdout, redact)
    route_step_logs()
    sink = reporter if state is None else state.recording(run_id, plan, reporter, resumed=progress is not None)
    notifier = None
    if any(p.notify for p in plan.pipelines.values()):  # only then is orchestrator.notify imported
        from orchestrator.notify import Dispatcher

        notifier = Dispatcher(plan, plugins.registry, redact)
        sink = notifier.watching(sink)
    checkpoints, dead_letters = stores(plan)
    engine = Engine(plan, plugins, sink, checkpoints=checkpoints, dead_letters=dead_letters)
    try:
        # what is logged reaches the stream until the notifications sent at the end are logged too
        with StepLogs(run_id, sink, redact):
            try:
                result = run_until_interrupted(engine, asked.selected or None, run_id=run_id, resume=progress, replay=replayed)
                if result.ok and state is not None and state.failure is None and checkpoints is not None:
                    from orchestrator.resume import forget_earlier_checkpoints

                    with suppress(Exception):  # tidying up after a run that succeeded never fails it
                        forget_earlier_checkpoints(state, str(plan.source.resolve()), run_id, checkpoints.folder)
            finally:
                if notifier is not None:
                    notifier.close()
    finally:
        reporter.close()
        if state is not None:
            state.close()
    reporter.summary(result)
    return result, None if state is None else state.failure


def stores(plan: Plan) -> tuple[CheckpointFolder | None, DeadLetterFolder]:
    """The run's checkpoint store (none when state is off) and dead-letter store, for the
    engine's ports: the engine itself knows no file format."""
    from orchestrator.checkpoints import CheckpointFolder
    from orchestrator.deadletters import DeadLetterFolder
    from orchestrator.state import state_directory

    directory = state_directory(plan)
    checkpoints = None if directory is None else CheckpointFolder(directory / "checkpoints")
    return checkpoints, DeadLetterFolder(dead_letter_folder(plan), plan.secrets)


def dead_letter_folder(plan: Plan) -> Path:
    """Where a run's dead letters go: ``dead-letters`` in the state directory (``.orchestrator``
    beside the pipeline file when state is off)."""
    from orchestrator.deadletters import FOLDER
    from orchestrator.state import state_directory

    return (state_directory(plan) or plan.base_dir / ".orchestrator") / FOLDER


def _check_selection(plan: Plan, asked: Launch) -> None:
    for name in asked.selected:
        if name not in plan.pipelines:
            close = difflib.get_close_matches(name, list(plan.pipelines), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise LaunchError(f"--pipeline {name!r}: no such pipeline in {asked.config}{hint}")
    if asked.replay and asked.resume:
        raise LaunchError("--replay-dead-letters starts a new run and --resume continues an earlier one; use one of them")


def _resumed(state: SQLState | None, plan: Plan, asked: Launch) -> tuple[str, Progress]:
    """The run ``--resume`` continues, and what it completed."""
    from orchestrator.deadletters import replay_of
    from orchestrator.resume import ResumeError, resumable

    config = asked.config
    if state is None:
        raise LaunchError(f"--resume needs the run history, and {config} says 'state: off'")
    assert asked.resume is not None
    try:
        run_id, progress = resumable(state, plan, asked.resume, force=asked.force, config=config)
    except ResumeError as exc:
        raise LaunchError(str(exc)) from None
    source = replay_of(dead_letter_folder(plan), run_id)
    if source is not None:  # it ran dead letters, not the pipelines: replaying them again is what goes on
        raise LaunchError(
            f"--resume {run_id}: that run replayed the dead letters of run {source}; run "
            f"'orchestrator run {config} --replay-dead-letters {source}' again instead (a load that keeps a "
            "ledger, as sqlite.write does, skips what the earlier replay committed)"
        )
    return run_id, progress


def _replayed(state: SQLState | None, plan: Plan, asked: Launch, folder: Path) -> dict[str, Path]:
    """The dead-letter files ``--replay-dead-letters`` runs again, by pipeline; refused when the
    run has none, or a pipeline or step that rejected rows is no longer in the config."""
    from orchestrator.deadletters import DeadLetterError, replayable

    wanted = asked.replay
    assert wanted is not None
    recorded = None if state is None else state.run(wanted)
    try:
        if recorded is not None and recorded["config"] != str(plan.source.resolve()):
            raise DeadLetterError(f"that run is of {recorded['config']}, not {asked.config}")
        return replayable(folder, wanted, plan, asked.selected)
    except DeadLetterError as exc:
        raise LaunchError("\n".join(f"--replay-dead-letters {wanted}: {line}" for line in str(exc).splitlines())) from None
