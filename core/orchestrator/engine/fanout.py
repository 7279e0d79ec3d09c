"""The rows one pipeline hands to others in a run: ``foreach: {from: PIPELINE}`` makes one
instance per row once the source finished, and ``extract: {from: PIPELINE}`` takes them as its
extract.

The source hands its rows over through one more load step the engine adds to it,
``pipeline.handoff``, and a taking pipeline's extract is one step, ``pipeline.rows`` (how they
meet, live or through the run's handoff file, is :mod:`orchestrator.engine.handoff`). Both are
ordinary steps: they run on whatever executor runs their pipeline, are reported and recorded as
any step, and a resume reuses a handoff that completed, whose file is still there for the
resumed run to take the same rows from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from orchestrator.config.foreach import ForeachError, expand
from orchestrator.config.phases import EXTRACT, LOAD
from orchestrator.engine.handoff import HANDOFF_PLUGIN, ROWS_PLUGIN
from orchestrator.events import FAILED, INTERRUPTED, SUCCEEDED, PipelineOutcome
from orchestrator.runstate.frames import read_frames
from orchestrator.runstate.layout import handoff_file, handoff_run_folder

if TYPE_CHECKING:
    from pathlib import Path

    from orchestrator.config.model import PipelineSpec, Plan

#: the id of the load step that hands a source's rows over
HANDOFF_STEP = "handoff"


def sources(plan: Plan) -> frozenset[str]:
    """The pipelines a ``foreach: {from: ...}`` takes its items from, or an ``extract: {from:
    ...}`` its rows."""
    found = {spec.fanout.source for spec in plan.pipelines.values() if spec.fanout is not None and spec.fanout.source is not None}
    return frozenset(found | {spec.extract_from for spec in plan.pipelines.values() if spec.extract_from is not None})


def remove_spent(plan: Plan, run_id: str, ran: Iterable[str]) -> None:
    """After run ``run_id`` succeeded: remove the rows of the sources whose takers all ran in it.
    The rows of a source whose taker did not (a run of ``--pipeline source --only``, as an engine
    adapter runs each pipeline as a task of its own) stay for the run of that taker."""
    done = set(ran)
    takers: dict[str, set[str]] = {}
    for spec in plan.pipelines.values():
        source = spec.fanout.source if spec.fanout is not None and spec.fanout.source is not None else spec.extract_from
        if source is not None:
            takers.setdefault(source, set()).add(spec.name)
    for source, names in takers.items():
        if names <= done:
            handoff_file(plan.base_dir, run_id, source).unlink(missing_ok=True)
    folder = handoff_run_folder(plan.base_dir, run_id)
    with contextlib.suppress(OSError):  # not there, or rows of a taker still to run are in it
        folder.rmdir()


def extracting_rows(spec: PipelineSpec) -> PipelineSpec:
    """A pipeline of ``extract: {from: SOURCE}`` with the extract step that takes the rows SOURCE
    hands over in this run."""
    from orchestrator.config.model import StepSpec

    assert spec.extract_from is not None
    step = StepSpec(f"from-{spec.extract_from}", ROWS_PLUGIN, EXTRACT, {"source": spec.extract_from})
    return replace(spec, phases={EXTRACT: (step,), **spec.phases})


def keeping_rows(spec: PipelineSpec) -> PipelineSpec:
    """The source pipeline with the load step that hands its rows over."""
    from orchestrator.config.model import StepSpec

    step = StepSpec(HANDOFF_STEP, HANDOFF_PLUGIN, LOAD, {})
    return replace(spec, phases={**spec.phases, LOAD: (*spec.phases[LOAD], step)})


def instances(template: PipelineSpec, base_dir: Path, run_id: str, handed: Iterable[Any] | None = None) -> list[PipelineSpec]:
    """One pipeline per row its source loaded in this run: of the batches ``handed`` over, as the
    source's executor gave them, or else of the run's handoff file (:class:`ForeachError` when the
    instances cannot be made, or the rows were not kept)."""
    assert template.fanout is not None and template.fanout.source is not None
    path = handoff_file(base_dir, run_id, template.fanout.source)
    try:
        batches = read_frames(path) if handed is None else handed
        rows: list[Any] = [row for batch in batches for row in (batch if isinstance(batch, list) else [batch])]
    except (OSError, ValueError, EOFError) as exc:
        raise ForeachError(f"the rows of {template.fanout.source!r} cannot be read from {path}: {exc}") from None
    return expand(template, rows)


def group_outcome(name: str, members: list[PipelineOutcome]) -> PipelineOutcome:
    """How a foreach pipeline as a whole ended, for the pipelines that depend on it: failed (or
    interrupted) when an instance did, else succeeded (no instances, or every one succeeded or
    was skipped by its condition). Its error classes are the first failed instance's, the error
    an engine running the foreach as one task judges its ``retry:`` by."""
    statuses = {m.status for m in members}
    status = INTERRUPTED if INTERRUPTED in statuses else FAILED if FAILED in statuses else SUCCEEDED
    failed = [m for m in members if m.status in (FAILED, INTERRUPTED)]
    error = f"instances {', '.join(m.name for m in failed)} did not succeed" if failed else None
    classes = next((m.error_classes for m in failed if m.error_classes), ())
    return PipelineOutcome(name, status, sum(m.elapsed for m in members), error, error_classes=classes)
