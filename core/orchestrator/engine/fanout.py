"""``foreach: {from: PIPELINE}`` at run time: the source pipeline keeps the rows it loaded, and when
it finished the foreach pipeline becomes one instance per row.

The source keeps its rows through one more load step the engine adds to it, a ``jsonl.write`` into
the run's ``foreach`` folder (:func:`~orchestrator.runstate.layout.foreach_rows_file`): an
ordinary step, so it runs on whatever executor runs the source, is reported and recorded as any
step, and is reused by a resume like any load that completed, whose file is still there for the
resumed run to expand the same instances from.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from orchestrator.config.foreach import ForeachError, expand
from orchestrator.config.phases import EXTRACT, LOAD
from orchestrator.events import FAILED, INTERRUPTED, SUCCEEDED, PipelineOutcome
from orchestrator.runstate.layout import foreach_rows_file

if TYPE_CHECKING:
    from pathlib import Path

    from orchestrator.config.model import PipelineSpec, Plan

#: the id of the load step that keeps a source's rows
ROWS_STEP = "foreach-rows"


def sources(plan: Plan) -> frozenset[str]:
    """The pipelines a ``foreach: {from: ...}`` takes its items from, or an ``extract: {from:
    ...}`` its rows."""
    found = {spec.fanout.source for spec in plan.pipelines.values() if spec.fanout is not None and spec.fanout.source is not None}
    return frozenset(found | {spec.extract_from for spec in plan.pipelines.values() if spec.extract_from is not None})


def extracting_rows(spec: PipelineSpec, base_dir: Path, run_id: str) -> PipelineSpec:
    """A pipeline of ``extract: {from: SOURCE}`` with the extract step that reads the rows SOURCE
    kept in this run."""
    from orchestrator.config.model import StepSpec

    assert spec.extract_from is not None
    path = str(foreach_rows_file(base_dir, run_id, spec.extract_from))
    step = StepSpec(f"from-{spec.extract_from}", "jsonl.read", EXTRACT, {"path": path})
    return replace(spec, phases={EXTRACT: (step,), **spec.phases})


def keeping_rows(spec: PipelineSpec, base_dir: Path, run_id: str) -> PipelineSpec:
    """The source pipeline with the load step that keeps its rows for the foreach."""
    from orchestrator.config.model import StepSpec

    path = str(foreach_rows_file(base_dir, run_id, spec.name))
    step = StepSpec(ROWS_STEP, "jsonl.write", LOAD, {"path": path})
    return replace(spec, phases={**spec.phases, LOAD: (*spec.phases[LOAD], step)})


def instances(template: PipelineSpec, base_dir: Path, run_id: str) -> list[PipelineSpec]:
    """One pipeline per row its source loaded in this run (:class:`ForeachError` when they cannot
    be made, or the rows were not kept)."""
    assert template.fanout is not None and template.fanout.source is not None
    path = foreach_rows_file(base_dir, run_id, template.fanout.source)
    try:
        with path.open(encoding="utf-8") as handle:
            rows: list[Any] = [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError) as exc:
        raise ForeachError(f"the rows of {template.fanout.source!r} cannot be read from {path}: {exc}") from None
    return expand(template, rows)


def group_outcome(name: str, members: list[PipelineOutcome]) -> PipelineOutcome:
    """How a foreach pipeline as a whole ended, for the pipelines that depend on it: failed (or
    interrupted) when an instance did, else succeeded (no instances, or every one succeeded or
    was skipped by its condition)."""
    statuses = {m.status for m in members}
    status = INTERRUPTED if INTERRUPTED in statuses else FAILED if FAILED in statuses else SUCCEEDED
    failed = [m.name for m in members if m.status in (FAILED, INTERRUPTED)]
    error = f"instances {', '.join(failed)} did not succeed" if failed else None
    return PipelineOutcome(name, status, sum(m.elapsed for m in members), error)
