"""A test kit for plugin authors (and for the core's own tests).

With the core installed, pytest picks up its fixtures by itself (a ``pytest11`` entry point):

- ``orchestrator_plugins``: the installed plugins, loaded through their entry points;
- ``register_plugin(obj, name=...)``: add a plugin object for this test only;
- ``run_pipeline(config, ...)``: run a pipeline in-process from a YAML string or a dict and see what
  every step received and returned;
- ``hook_recorder``: every lifecycle hook call of the test, in order.

:func:`conformance_suite` builds a test class that checks every step a plugin registers.
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config.phases import PHASES
from orchestrator.events import Event, Kind, RunResult
from orchestrator.plugins.discovery import Plugins
from orchestrator.plugins.registry import Registration, Registry
from orchestrator.testing.conformance import conformance_suite
from orchestrator.testing.hooks import HookRecorder
from orchestrator.testing.recording import Recorder, StepRecord

__all__ = ["HookRecorder", "PipelineRun", "StepRecord", "conformance_suite", "run_pipeline"]


@dataclass
class PipelineRun:
    """What :func:`run_pipeline` returns: the run's result, a record of every step (the data it
    received and returned), and the run's events, in order (``events_of(Kind.STEP_FINISHED)``)."""

    result: RunResult
    records: dict[tuple[str, str], StepRecord]
    base_dir: Path
    events: list[Event] = field(default_factory=list)

    def events_of(self, kind: Kind) -> list[Event]:
        return [event for event in self.events if event.kind is kind]

    @property
    def ok(self) -> bool:
        return self.result.ok

    def step(self, step_id: str, pipeline: str | None = None) -> StepRecord:
        """The record of a step, by id (and pipeline, when several have that step id)."""
        found = [r for (p, s), r in self.records.items() if s == step_id and pipeline in (None, p)]
        if len(found) != 1:
            known = ", ".join(f"{p}.{s}" for p, s in self.records)
            raise KeyError(f"{len(found)} steps match {step_id!r}; recorded steps: {known}")
        return found[0]

    def error(self, pipeline: str) -> str | None:
        return self.result.pipelines[pipeline].error


def run_pipeline(
    config: str | dict[str, Any],
    plugins: Plugins,
    base_dir: Path,
    *,
    params: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
    selected: list[str] | None = None,
) -> PipelineRun:
    """Write ``config`` (YAML text or a dict) as ``base_dir/pipeline.yaml`` with ``files`` beside
    it, validate it exactly as ``orchestrator run`` would, run it, and record every step."""
    import yaml

    from orchestrator.config.plan import load_plan
    from orchestrator.engine import Engine
    from orchestrator.launch import stores

    base_dir.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        target = base_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content))
    text = textwrap.dedent(config) if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
    source = base_dir / "pipeline.yaml"
    source.write_text(text)
    plan = load_plan(source, plugins.registry, params=params, env=env)
    recorder = Recorder()
    recording = copy.copy(plugins)
    recording.registry = _recording_registry(plugins.registry, recorder)
    events: list[Event] = []
    _, dead_letters = stores(plan)
    result = Engine(plan, recording, events.append, dead_letters=dead_letters).run_sync(selected)
    return PipelineRun(result, recorder.records, base_dir, events)


def _recording_registry(registry: Registry, recorder: Recorder) -> Registry:
    copied = Registry()
    copied.plugins, copied.problems, copied.clashes = registry.plugins, registry.problems, registry.clashes
    for kind, table in registry.tables.items():
        target = copied.tables.setdefault(kind, {})
        for name, entry in table.items():
            wrapped = recorder.wrap(entry) if kind in PHASES else entry.target  # executors, channels: as they are
            target[name] = Registration(name, kind, wrapped, entry.schema, entry.description, entry.origin)
    return copied
