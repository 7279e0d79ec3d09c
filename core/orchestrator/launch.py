"""A run put together: the run history, notifications, the engine, and which earlier run
``--resume`` or ``--replay-dead-letters`` goes on from.

Both ways of starting a run are built on it, so both record the same history: the CLI
(``orchestrator run``, which adds a reporter, signal handling and exit statuses) and the Python API
(:func:`orchestrator.run`). Input that is wrong (an unknown pipeline, a run that cannot be
resumed) raises :class:`LaunchError` before anything runs, with the message to print.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.config.interpolate import redactor
from orchestrator.config.model import Plan
from orchestrator.errors import OrchestratorError
from orchestrator.events import EventSink, RunResult
from orchestrator.runstate.layout import checkpoint_folder, dead_letter_folder
from orchestrator.runstate.progress import Progress

if TYPE_CHECKING:
    from orchestrator.engine import Engine
    from orchestrator.notify import Dispatcher
    from orchestrator.plugins.discovery import Plugins
    from orchestrator.plugins.registry import Registry
    from orchestrator.runstate.checkpoints import CheckpointFolder
    from orchestrator.runstate.deadletters import DeadLetterFolder
    from orchestrator.runstate.history.sql import SQLState


class LaunchError(OrchestratorError):
    """The run cannot start as asked; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class Launch:
    """What a run was asked for, beyond the plan. ``config`` names the pipeline file in messages;
    ``run_id`` is the id of a new run (a fresh one when None)."""

    config: str
    selected: Sequence[str] = ()
    resume: str | None = None
    force: bool = False
    replay: str | None = None
    run_id: str | None = None


class Launched:
    """A run that may start: the history is open, and what it resumes or replays is known.
    :meth:`start` runs it once, sending every event to the given sink as well as the history."""

    def __init__(
        self, plan: Plan, plugins: Plugins, asked: Launch, state: SQLState | None, run_id: str,
        progress: Progress | None, replayed: dict[str, Path] | None,
    ) -> None:
        self.plan = plan
        self.plugins = plugins
        self.asked = asked
        self.state = state
        self.run_id = run_id
        self.progress = progress
        self.replayed = replayed
        #: hides the config's secrets: every text a run writes goes through it
        self.redact: Callable[[str], str] = redactor(plan.secrets)
        self.result: RunResult | None = None
        self.notifier: Dispatcher | None = None
        self._engine: Engine | None = None
        self._exits = ExitStack()

    async def start(self, sink: EventSink) -> RunResult:
        """Run the pipelines on the running event loop; the result is also kept in :attr:`result`."""
        from orchestrator.engine import Engine, StepLogs

        if self.state is not None:
            sink = self.state.recording(self.run_id, self.plan, sink, resumed=self.progress is not None)
        if any(p.notify for p in self.plan.pipelines.values()):  # only then is orchestrator.notify imported
            from orchestrator.notify import Dispatcher

            self.notifier = Dispatcher(self.plan, self.plugins.registry, self.redact)
            sink = self.notifier.watching(sink)
        checkpoints, dead_letters = stores(self.plan)
        self._engine = Engine(self.plan, self.plugins, sink, checkpoints=checkpoints, dead_letters=dead_letters)
        # what steps log becomes events of the stream until the notifications sent at the end
        # (in close) are logged too
        self._exits.enter_context(StepLogs(self.run_id, sink, self.redact))
        self.result = await self._engine.run(
            self.asked.selected or None, run_id=self.run_id, resume=self.progress, replay=self.replayed
        )
        return self.result

    def interrupt(self) -> None:
        """Stop the run as a first Ctrl-C does (see :meth:`orchestrator.engine.Engine.interrupt`)."""
        if self._engine is not None:
            self._engine.interrupt()

    def _tidy(self, state: SQLState) -> None:
        """After the run: a success retires the earlier runs' checkpoints, and ``history:``
        removes the file's runs past its limits. Tidying up never fails the run."""
        config = str(self.plan.source.resolve())
        folder = checkpoint_folder(self.plan.state, self.plan.base_dir)
        if self.result is not None and self.result.ok and folder is not None:
            from orchestrator.runstate.resume import forget_earlier_checkpoints

            with suppress(Exception):
                forget_earlier_checkpoints(state, config, self.run_id, folder)
        if self.plan.history is not None:
            from orchestrator.runstate.retention import prune

            with suppress(Exception):
                prune(state, config, self.plan.history, spare=self.run_id)

    @property
    def unrecorded(self) -> str | None:
        """Why the history stopped recording during the run, when it did."""
        return None if self.state is None else self.state.failure

    def close(self) -> None:
        """Wait for notifications still being sent, tidy up after a run that succeeded, and close
        the history."""
        try:
            if self.notifier is not None:
                self.notifier.close()
            self._exits.close()
            if self.state is not None and self.state.failure is None:
                self._tidy(self.state)
        finally:
            if self.state is not None:
                self.state.close()


def stores(plan: Plan) -> tuple[CheckpointFolder | None, DeadLetterFolder]:
    """The run's checkpoint store (none when state is off) and dead-letter store, for the
    engine's ports: the engine itself knows no file format."""
    from orchestrator.runstate.checkpoints import CheckpointFolder
    from orchestrator.runstate.deadletters import DeadLetterFolder

    folder = checkpoint_folder(plan.state, plan.base_dir)
    checkpoints = None if folder is None else CheckpointFolder(folder)
    return checkpoints, DeadLetterFolder(dead_letter_folder(plan.state, plan.base_dir), plan.secrets)


@contextmanager
def launched(plan: Plan, plugins: Plugins, asked: Launch) -> Iterator[Launched]:
    """Open the run's history and settle what it resumes or replays, then hand over the run to
    start; everything is closed on the way out. Raises :class:`LaunchError` (nothing ran) or, when
    started, :class:`~orchestrator.errors.ConfigError` from the engine (the plan cannot go where
    its executor sends it)."""
    from orchestrator.engine import new_run_id
    from orchestrator.runstate.history import state_for
    from orchestrator.runstate.history.sql import StateError

    _check_selection(plan, asked)
    try:
        state = state_for(plan, redactor(plan.secrets))
    except StateError as exc:  # a store that cannot be opened: nothing has run yet
        raise LaunchError(str(exc)) from None
    try:
        letters = dead_letter_folder(plan.state, plan.base_dir)
        replayed = _replayed(state, plan, asked, letters) if asked.replay else None
        run_id, progress = _resumed(state, plan, asked) if asked.resume else (asked.run_id or new_run_id(), None)
    except LaunchError:
        if state is not None:
            state.close()
        raise
    if asked.replay:
        from orchestrator.runstate.deadletters import mark_replay

        mark_replay(letters, run_id, asked.replay)
    run = Launched(plan, plugins, asked, state, run_id, progress, replayed)
    try:
        yield run
    finally:
        run.close()


def with_executor(plan: Plan, name: str, registry: Registry, *, option: str = "--executor") -> Plan:
    """The plan with every pipeline on executor ``name`` (``--executor``); the config's options for
    that executor (a pipeline's own, else the file's) still apply. An executor that is not
    installed is a :class:`LaunchError` naming ``option``."""
    from dataclasses import replace

    from orchestrator.config.model import ExecutorSpec
    from orchestrator.plugins.registry import EXECUTOR

    if registry.get(EXECUTOR, name) is None:
        known = ", ".join(registry.names(EXECUTOR))
        close = registry.suggest(name, EXECUTOR)
        hint = f"; did you mean {close!r}?" if close else ""
        raise LaunchError(f"{option} {name!r}: unknown executor{hint} (installed: {known})")
    default = plan.executor if plan.executor.name == name else ExecutorSpec(name)
    pipelines = {
        key: replace(p, executor=p.executor if p.executor.name == name else default) for key, p in plan.pipelines.items()
    }
    return replace(plan, pipelines=pipelines, executor=default)


def _check_selection(plan: Plan, asked: Launch) -> None:
    for name in asked.selected:
        if name not in plan.pipelines:
            close = difflib.get_close_matches(name, list(plan.pipelines), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            names = ", ".join(plan.pipelines)
            raise LaunchError(f"--pipeline {name!r}: no such pipeline in {asked.config}{hint} (its pipelines: {names})")
    from orchestrator.runstate.layout import RunIdError, check_run_id
    from orchestrator.runstate.resume import LATEST

    given = {"--resume": None if asked.resume == LATEST else asked.resume, "--replay-dead-letters": asked.replay, "run_id": asked.run_id}
    for option, run_id in given.items():
        if run_id is not None:
            try:
                check_run_id(run_id)
            except RunIdError as exc:
                raise LaunchError(f"{option}: {exc}") from None
    if asked.replay and asked.resume:
        raise LaunchError("--replay-dead-letters starts a new run and --resume continues an earlier one; use one of them")
    if asked.run_id and asked.resume:
        raise LaunchError("a run id is chosen for a new run only; --resume continues the run it names")


def _resumed(state: SQLState | None, plan: Plan, asked: Launch) -> tuple[str, Progress]:
    """The run ``--resume`` continues, and what it completed."""
    from orchestrator.runstate.deadletters import replay_of
    from orchestrator.runstate.resume import ResumeError, resumable

    config = asked.config
    if state is None:
        raise LaunchError(f"--resume needs the run history, and {config} says 'state: off'")
    assert asked.resume is not None
    try:
        run_id, progress = resumable(state, plan, asked.resume, force=asked.force, config=config)
    except ResumeError as exc:
        raise LaunchError(str(exc)) from None
    source = replay_of(dead_letter_folder(plan.state, plan.base_dir), run_id)
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
    from orchestrator.runstate.deadletters import DeadLetterError, replayable

    wanted = asked.replay
    assert wanted is not None
    recorded = None if state is None else state.run(wanted)
    try:
        if recorded is not None and recorded["config"] != str(plan.source.resolve()):
            raise DeadLetterError(f"that run is of {recorded['config']}, not {asked.config}")
        return replayable(folder, wanted, plan, asked.selected)
    except DeadLetterError as exc:
        raise LaunchError("\n".join(f"--replay-dead-letters {wanted}: {line}" for line in str(exc).splitlines())) from None
