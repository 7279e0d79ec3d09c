"""An interrupted run still pairs every ``before_*`` hook with its ``after_*`` and releases its
files: the run is interrupted (as Ctrl-C does, through ``Engine.interrupt``) while a step of each
phase runs, with real checkpoint and dead-letter files, and a failing pipeline closes the same way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from orchestrator import hookimpl
from orchestrator.runstate.checkpoints import CheckpointFolder
from orchestrator.config.plan import load_plan
from orchestrator.runstate.deadletters import DeadLetterFolder
from orchestrator.engine import Engine
from orchestrator.events import Event, Kind, RunResult
from orchestrator.plugins.discovery import Plugins
from orchestrator.plugins.registry import Origin

CONFIG = """
pipelines:
  p:
    type: ETLT
    phases:
      extract: {steps: [{id: src, plugin: pair.rows}]}
      transform:
        steps:
          - {id: picky, plugin: pair.picky, on_error: dead_letter}
          - {id: tx, plugin: pair.transform}
      load: {steps: [{id: out, plugin: pair.load, on_error: dead_letter}, {id: other, plugin: pair.load}]}
      transform_at_load: {steps: [{id: tal, plugin: pair.finish}]}
  after:
    type: ETL
    depends_on: [p]
    phases:
      extract: {steps: [{id: src2, plugin: pair.rows}]}
      load: {steps: [{id: out2, plugin: pair.load}]}
"""


class Steps:
    """Async steps; the one of the phase under test says it is running, then waits to be cancelled
    (or raises, for the failure case)."""

    def __init__(self, phase: str, fail: bool = False) -> None:
        self.phase = phase
        self.fail = fail
        self.running = anyio.Event()

    async def _here(self, phase: str, step: str) -> None:
        if phase == self.phase and step in ("src", "tx", "out", "tal"):
            if self.fail:
                raise RuntimeError(f"{step} broke")
            self.running.set()
            await anyio.sleep(60)

    @hookimpl
    def register_extractors(self, register: Any) -> None:
        async def rows(ctx: Any) -> list[dict[str, int]]:
            await self._here("extract", ctx.step_id)
            return [{"n": n} for n in range(5)]

        register("pair.rows", rows)

    @hookimpl
    def register_transformers(self, register: Any) -> None:
        async def picky(ctx: Any, rows: list[dict[str, int]]) -> list[dict[str, int]]:
            ctx.reject(rows[0], "the first row is refused")  # an open dead-letter file from here on
            return rows[1:]

        async def transform(ctx: Any, rows: list[dict[str, int]]) -> list[dict[str, int]]:
            await self._here("transform", ctx.step_id)
            return rows

        register("pair.picky", picky)
        register("pair.transform", transform)

    @hookimpl
    def register_loaders(self, register: Any) -> None:
        async def load(ctx: Any, batches: Any) -> int:
            count = 0
            async for batch in batches:
                count += len(batch)
            if ctx.step_id == "out":
                ctx.reject({"n": -1}, "refused at the load")
            await self._here("load", ctx.step_id)
            return count

        register("pair.load", load)

    @hookimpl
    def register_load_transformers(self, register: Any) -> None:
        async def finish(ctx: Any) -> int:
            await self._here("transform_at_load", ctx.step_id)
            return 0

        register("pair.finish", finish)


class Hooks:
    """Every lifecycle hook call, as (hook, what it is about, status)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    @hookimpl
    def before_pipeline_run(self, context: Any) -> None:
        self.calls.append(("before_pipeline_run", context.pipeline, None))

    @hookimpl
    def after_pipeline_run(self, context: Any, status: str, elapsed: float) -> None:
        self.calls.append(("after_pipeline_run", context.pipeline, status))

    @hookimpl
    def before_phase_run(self, context: Any, phase: str) -> None:
        self.calls.append(("before_phase_run", f"{context.pipeline}.{phase}", None))

    @hookimpl
    def after_phase_run(self, context: Any, phase: str, elapsed: float, status: str) -> None:
        self.calls.append(("after_phase_run", f"{context.pipeline}.{phase}", status))

    @hookimpl
    def before_step_run(self, context: Any, args: dict[str, Any]) -> None:
        self.calls.append(("before_step_run", f"{context.pipeline}.{context.step_id}", None))

    @hookimpl
    def after_step_run(self, context: Any, rows: int | None, elapsed: float, status: str) -> None:
        self.calls.append(("after_step_run", f"{context.pipeline}.{context.step_id}", status))

    def pairs(self) -> dict[str, str | None]:
        """What each ``before_*`` was paired with: the status of its ``after_*``; asserting that
        every ``after_*`` follows its ``before_*`` and that no ``before_*`` is left open."""
        open_: set[tuple[str, str]] = set()
        ended: dict[str, str | None] = {}
        for hook, what, status in self.calls:
            kind = hook.split("_", 1)[1]
            if hook.startswith("before_"):
                assert (kind, what) not in open_, f"{hook} {what} twice"
                open_.add((kind, what))
            else:
                assert (kind, what) in open_, f"{hook} {what} without its before_{kind}"
                open_.remove((kind, what))
                ended[what] = status
        assert not open_, f"never closed: {sorted(open_)}"
        return ended


def _descriptors_under(folder: Path) -> list[str]:
    """The files under ``folder`` this process still has open."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def _run(tmp_path: Path, plugins: Plugins, steps: Steps, config: str = CONFIG) -> tuple[Hooks, RunResult, list[Event]]:
    hooks = Hooks()
    assert plugins.add(steps, Origin("pair", "tests", "0"))
    assert plugins.add(hooks, Origin("pair-hooks", "tests", "0"))
    (tmp_path / "pipeline.yaml").write_text(config)
    plan = load_plan(tmp_path / "pipeline.yaml", plugins.registry)
    events: list[Event] = []
    engine = Engine(
        plan, plugins, events.append, checkpoints=CheckpointFolder(tmp_path / "state" / "checkpoints"),
        dead_letters=DeadLetterFolder(tmp_path / "state" / "dead-letters"),
    )
    results: list[RunResult] = []

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            async def interrupt() -> None:
                await steps.running.wait()
                await anyio.sleep(0.05)
                engine.interrupt()

            if not steps.fail and "timeout" not in config:
                tasks.start_soon(interrupt)
            results.append(await engine.run())
            tasks.cancel_scope.cancel()

    anyio.run(main)
    return hooks, results[0], events


PHASES = ["extract", "transform", "load", "transform_at_load"]
WAITING = {"extract": "src", "transform": "tx", "load": "out", "transform_at_load": "tal"}


@pytest.mark.parametrize("phase", PHASES)
def test_an_interrupted_run_pairs_every_hook_and_closes_its_files(tmp_path: Path, plugins: Plugins, phase: str) -> None:
    hooks, result, events = _run(tmp_path, plugins, Steps(phase))
    assert result.interrupted and result.pipelines["p"].status == "interrupted"
    ended = hooks.pairs()
    assert ended["p"] == "interrupted"
    assert ended[f"p.{phase}"] == "interrupted"
    assert ended[f"p.{WAITING[phase]}"] == "interrupted"
    for earlier in PHASES[: PHASES.index(phase)]:
        assert ended[f"p.{earlier}"] == "succeeded"
    assert "after" not in ended  # never started: no hooks at all
    # the files are released: nothing under the run's state directory is still open
    assert _descriptors_under(tmp_path) == []
    if phase != "extract":  # rows were dead-lettered before the interruption, and are all on disk
        letters = (tmp_path / "state" / "dead-letters").glob("*/p.jsonl")
        assert [len(path.read_text().splitlines()) for path in letters] == [1 if phase == "transform" else 2]
    # the stream says the same as the hooks: the pipeline, its phase and its step ended interrupted
    finished = [e for e in events if e.pipeline == "p" and e.kind in (Kind.PHASE_FINISHED, Kind.STEP_FAILED, Kind.PIPELINE_FINISHED)]
    assert {(e.kind, e.status) for e in finished if e.status != "succeeded"} == {
        (Kind.PHASE_FINISHED, "interrupted"), (Kind.STEP_FAILED, "interrupted"), (Kind.PIPELINE_FINISHED, "interrupted"),
    }
    assert sum(e.kind is Kind.PIPELINE_FINISHED and e.pipeline == "p" for e in events) == 1


@pytest.mark.parametrize("phase", PHASES)
def test_a_failed_step_pairs_every_hook_and_closes_its_files(tmp_path: Path, plugins: Plugins, phase: str) -> None:
    hooks, result, _ = _run(tmp_path, plugins, Steps(phase, fail=True))
    assert result.pipelines["p"].status == "failed" and result.pipelines["after"].status == "skipped"
    ended = hooks.pairs()
    assert (ended["p"], ended[f"p.{phase}"], ended[f"p.{WAITING[phase]}"]) == ("failed", "failed", "failed")
    assert _descriptors_under(tmp_path) == []


@pytest.mark.parametrize("phase", PHASES)
def test_a_pipeline_that_times_out_pairs_every_hook_and_closes_its_files(tmp_path: Path, plugins: Plugins, phase: str) -> None:
    timed = CONFIG.replace("    type: ETLT\n", "    type: ETLT\n    timeout: 300ms\n", 1)
    hooks, result, _ = _run(tmp_path, plugins, Steps(phase), timed)
    assert (result.pipelines["p"].status, result.pipelines["p"].error) == ("failed", "timed out after 300ms")
    ended = hooks.pairs()
    assert (ended["p"], ended[f"p.{phase}"], ended[f"p.{WAITING[phase]}"]) == ("failed", "failed", "failed")
    assert _descriptors_under(tmp_path) == []
