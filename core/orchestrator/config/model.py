"""The plan: a validated config as typed, immutable objects the engine and executors work from.

Everything here is plain data (no plugin objects), so a plan, or one pipeline of it, can be pickled
and shipped to another process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config.cost import CostModel
from orchestrator.config.policies import FAIL, NONE, Policies
from orchestrator.config.telemetry import Telemetry
from orchestrator.runstate.layout import DEFAULT_STATE


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    """An executor by registered name, with the options it is created with."""

    name: str = "local"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity of the executor instance: one per distinct name and options within a run."""
        if not self.options:
            return self.name
        return self.name + json.dumps(self.options, sort_keys=True, default=str)


#: When a notification channel is used unless its ``on:`` says otherwise.
DEFAULT_NOTIFY_ON = ("failure", "retry_exhausted")


@dataclass(frozen=True, slots=True)
class NotifySpec:
    """One ``notify:`` entry: a notification channel by registered name, the events it is sent
    for (``success``, ``failure``, ``retry_exhausted``), and the options the channel is created with."""

    channel: str
    on: tuple[str, ...] = DEFAULT_NOTIFY_ON
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step of a phase: which plugin runs, with what arguments."""

    id: str
    plugin: str
    phase: str
    args: dict[str, Any]
    policies: Policies = NONE
    #: what happens to a row the step rejects (``fail``, ``skip``, ``dead_letter``); always
    #: ``fail`` for extract and transform_at_load steps
    on_error: str = FAIL
    #: ``when:``: the step runs only when this expression is true (see :mod:`~orchestrator.config.conditions`)
    when: str | None = None


#: ``run_if:`` when a pipeline does not say: every pipeline it depends on succeeded
ALL_SUCCEEDED = "all_succeeded"


@dataclass(frozen=True, slots=True)
class FanOut:
    """What makes a pipeline one instance of a ``foreach:`` (see :mod:`~orchestrator.config.foreach`).

    An instance (``ingest[eu]``) has ``group`` (``ingest``), its ``key`` (``eu``) and ``item``; a
    pipeline whose items come from an upstream pipeline's rows at run time keeps ``source`` (that
    pipeline) and is expanded by the engine when ``source`` finished."""

    group: str
    key: str = ""
    item: Any = None
    #: the name ``${item}`` is written with (``as:``)
    name: str = "item"
    #: ``key:``: the field of a mapping item that names its instance
    key_field: str | None = None
    max_parallel: int | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True, repr=False)
class PipelineSpec:
    """One pipeline: its phases in execution order, and what it waits for."""

    name: str
    type: str
    depends_on: tuple[str, ...]
    phases: dict[str, tuple[StepSpec, ...]]
    concurrency: int
    executor: ExecutorSpec
    phase_concurrency: dict[str, int] = field(default_factory=dict)
    policies: Policies = NONE
    #: the pipeline's own ``notify:``, else the file's
    notify: tuple[NotifySpec, ...] = ()
    #: whether phase outputs are kept on disk for ``--resume`` (``checkpoint:`` in the config)
    checkpoint: bool = True
    #: ``schedule:`` as written (validated); ``orchestrator serve`` builds its model from it
    schedule: dict[str, Any] | None = None
    #: ``triggers:`` as written (validated), one mapping per trigger
    triggers: tuple[dict[str, Any], ...] = ()
    #: ``when:`` and ``run_if:`` (see :mod:`~orchestrator.config.conditions`)
    when: str | None = None
    run_if: str = ALL_SUCCEEDED
    #: set on an instance of a ``foreach:`` pipeline (and on one expanded at run time)
    fanout: FanOut | None = None
    #: ``extract: {from: ...}``: the pipeline whose loaded rows are this one's extract
    extract_from: str | None = None

    def concurrency_of(self, phase: str) -> int:
        return self.phase_concurrency.get(phase, self.concurrency)

    def __repr__(self) -> str:  # short: a plan can hold thousands of steps
        steps = sum(len(s) for s in self.phases.values())
        return f"<PipelineSpec {self.name} {self.type}, {steps} steps>"


@dataclass(frozen=True, slots=True)
class Retention:
    """How much of a pipeline file's run history to keep (``history:`` in the config, or the
    options of ``orchestrator runs prune``): runs that started more than ``keep_days`` ago, or
    before the file's newest ``keep_runs``, are removed with their checkpoints and dead letters."""

    keep_days: int | None = None
    keep_runs: int | None = None


@dataclass(frozen=True, slots=True, repr=False)
class Plan:
    """Every pipeline of one config file, ready to run."""

    source: Path
    base_dir: Path
    pipelines: dict[str, PipelineSpec]
    params: dict[str, Any]
    executor: ExecutorSpec
    secrets: frozenset[str] = frozenset()
    allowed_paths: tuple[Path, ...] = ()
    state: str = DEFAULT_STATE
    #: ``history:``: applied at the end of every run; None keeps the whole history
    history: Retention | None = None
    #: ``cost:``: the prices runs are estimated at; None estimates no cost
    cost: CostModel | None = None
    #: ``telemetry:``: where the runs' traces go (the plugin exporting them reads it); None: nowhere
    #: unless the environment says
    telemetry: Telemetry | None = None
    #: the files ``include:`` read, which the run's fingerprint covers with ``source``
    includes: tuple[Path, ...] = ()
    #: each ``foreach:`` pipeline expanded from the config, with the names of its instances
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: the run's own variables by namespace (``schedule``, ``trigger``), for ``when:`` conditions
    variables: dict[str, dict[str, str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Plan {self.source}, {len(self.pipelines)} pipelines>"
