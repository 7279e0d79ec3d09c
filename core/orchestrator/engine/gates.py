"""Whether a pipeline whose upstream pipelines ended runs: its ``run_if:`` rule over their outcomes,
then its ``when:`` condition; and which of its steps' ``when:`` conditions hold. What is skipped is
reported as skipped with the rule's or the condition's text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from orchestrator.config.model import ALL_SUCCEEDED
from orchestrator.events import FAILED, SKIPPED, SUCCEEDED, Event, EventSink, Kind, PipelineOutcome
from orchestrator.executors import skipped_because

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec, Plan


def conditional(spec: PipelineSpec) -> bool:
    """Whether the engine itself must judge if the pipeline runs (an executor that takes the whole
    graph only knows the default rule): a ``run_if``, a ``when``, a step's ``when``, or a foreach
    made at run time."""
    return (
        spec.run_if != ALL_SUCCEEDED or spec.when is not None or (spec.fanout is not None and spec.fanout.source is not None)
        or any(step.when is not None for steps in spec.phases.values() for step in steps)
    )


def verdict(spec: PipelineSpec, depends_on: list[str], outcomes: Mapping[str, PipelineOutcome], plan: Plan) -> str | None:
    """None when the pipeline runs, else why it is skipped (a condition that cannot be evaluated
    raises :class:`~orchestrator.config.conditions.ConditionError`)."""
    if spec.run_if == ALL_SUCCEEDED and spec.when is None:  # the plain case, without the conditions module
        failed = [dep for dep in depends_on if outcomes[dep].status != SUCCEEDED]
        return skipped_because(failed) if failed else None
    statuses = [outcomes[dep].status for dep in depends_on]
    if not lets_through(spec.run_if, statuses):
        if spec.run_if == ALL_SUCCEEDED:
            return skipped_because([dep for dep in depends_on if outcomes[dep].status != SUCCEEDED])
        return f"skipped: run_if: {spec.run_if}, and the pipelines it depends on ended {_counted(statuses)}"
    if spec.when is not None and not _holds(spec.when, spec, depends_on, outcomes, plan):
        return f"skipped: when: {spec.when.strip()} is false"
    return None


def lets_through(run_if: str, statuses: list[str]) -> bool:
    """Whether ``run_if`` lets a pipeline run after upstream pipelines that ended so (with no
    upstream pipeline in the run, every rule does)."""
    if not statuses or run_if == "all_done":
        return True
    if run_if == "any_failed":
        return FAILED in statuses
    if run_if == "any_succeeded":
        return SUCCEEDED in statuses
    return all(status == SUCCEEDED for status in statuses)


def _counted(statuses: list[str]) -> str:
    return ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))


def names(spec: PipelineSpec, depends_on: list[str], outcomes: Mapping[str, PipelineOutcome], plan: Plan) -> dict[str, Any]:
    """What a condition of this pipeline reads (see :mod:`orchestrator.config.conditions`): the
    outcomes of its upstream pipelines, by name and, for a ``foreach``'s instances, by group too."""
    upstream: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[PipelineOutcome]] = {}
    for dep in depends_on:
        outcome = outcomes[dep]
        upstream[dep] = {"status": outcome.status, "rows": outcome.rows}
        group = dep.partition("[")[0]
        if group != dep:
            groups.setdefault(group, []).append(outcome)
    for group, members in groups.items():
        statuses = {m.status for m in members}
        status = next((s for s in ("failed", "interrupted", "skipped") if s in statuses), SUCCEEDED)
        rows = [m.rows for m in members]
        upstream[group] = {"status": status, "rows": None if None in rows else sum(r for r in rows if r is not None)}
    values: dict[str, Any] = {"params": plan.params, "schedule": plan.variables.get("schedule", {}), "upstream": upstream}
    if spec.fanout is not None:
        values[spec.fanout.name] = spec.fanout.item
    return values


def _holds(text: str, spec: PipelineSpec, depends_on: list[str], outcomes: Mapping[str, PipelineOutcome], plan: Plan) -> bool:
    from orchestrator.config.conditions import holds

    return holds(text, names(spec, depends_on, outcomes, plan))


def without_skipped_steps(
    spec: PipelineSpec, depends_on: list[str], outcomes: Mapping[str, PipelineOutcome], plan: Plan, run_id: str, emit: EventSink
) -> PipelineSpec:
    """The pipeline without the steps whose ``when:`` is false, each reported skipped; unchanged
    when no step has a condition."""
    if not any(step.when is not None for steps in spec.phases.values() for step in steps):
        return spec
    from orchestrator.config.conditions import holds

    values = names(spec, depends_on, outcomes, plan)
    phases = {}
    for phase, steps in spec.phases.items():
        kept = []
        for step in steps:
            if step.when is None or holds(step.when, values):
                kept.append(step)
                continue
            emit(Event(Kind.STEP_STARTED, run_id, spec.name, phase, step.id, step.plugin))
            emit(Event(
                Kind.STEP_FINISHED, run_id, spec.name, phase, step.id, step.plugin, status=SKIPPED, elapsed=0.0,
                error=f"skipped: when: {step.when.strip()} is false",
            ))
        phases[phase] = tuple(kept)
    return replace(spec, phases=phases)


def empty_phase(spec: PipelineSpec) -> str | None:
    """A phase every step of which was skipped, when it is one the pipeline cannot go without."""
    for phase in ("extract", "load"):
        if phase in spec.phases and not spec.phases[phase]:
            return phase
    return None
