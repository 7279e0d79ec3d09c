"""Running a pipeline in another process: what is shipped, and what runs on the other side.

Executors that cross a process boundary (``process``, ``dask``) ship a :class:`RemoteJob`: plain,
picklable data (the plan, the pipeline's name, the run id, the run's W3C trace context and the
plugin-selection variables). On
the other side :func:`run_remote` rebuilds the plugins from the same entry points, so lifecycle
hooks fire there too, runs the pipeline with the same engine code as ``local``, and returns its
outcome. :func:`unshippable` checks a plan before anything is sent (executors answer the
engine's :meth:`~orchestrator.executors.Executor.refusals` with it), so a lambda or an open handle
in a step shows up as a clear error naming the step, not as a pickling traceback from a worker.
The run's checkpoint and dead-letter stores travel with the job: they are plain data, and the
worker side hands them to its engine.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from orchestrator.events import Event, PipelineOutcome, discard
from orchestrator.runstate.progress import Continuation

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.engine.ports import CheckpointStore, DeadLetterStore
    from orchestrator.executors import PipelineJob
    from orchestrator.plugins.discovery import Plugins

@dataclass(frozen=True, slots=True)
class RemoteJob:
    """Everything a worker needs to run one pipeline of a run."""

    plan: Plan
    pipeline: str
    run_id: str
    plugin_env: dict[str, str]
    continuation: Continuation = field(default_factory=Continuation)
    checkpoints: CheckpointStore | None = None
    dead_letters: DeadLetterStore | None = None
    trace_context: dict[str, str] = field(default_factory=dict)


def remote_job(job: PipelineJob) -> RemoteJob:
    """The shippable form of a job: its own pipeline only (not the whole plan, which for a large
    graph would be pickled once per pipeline), with this process's plugin selection."""
    from orchestrator.plugins.discovery import PLUGIN_VARIABLES

    env = {name: os.environ[name] for name in PLUGIN_VARIABLES if name in os.environ}
    plan = replace(job.plan, pipelines={job.pipeline.name: job.pipeline})
    return RemoteJob(
        plan, job.pipeline.name, job.run_id, env, job.continuation, job.checkpoints, job.dead_letters, dict(job.trace_context)
    )


def worker_plugins(plugin_env: dict[str, str]) -> Plugins:
    """The plugins of this worker process, loaded once per plugin selection."""
    from orchestrator.plugins.discovery import shared_plugins

    return shared_plugins(plugin_env)


def run_remote(job: RemoteJob, emit: Callable[[Event], None] = discard) -> PipelineOutcome:
    """Run one pipeline here (in a worker process) and return its outcome; step failures come
    back inside the outcome, as they do on ``local``."""
    import anyio

    from orchestrator.engine import Engine
    from orchestrator.engine.prints import prints_as_logs

    if emit is not discard:  # the run shows what steps log at info and above: let it through here too
        step_logs = logging.getLogger("orchestrator.run")
        if step_logs.level == logging.NOTSET:
            step_logs.setLevel(logging.INFO)
    engine = Engine(
        job.plan, worker_plugins(job.plugin_env), emit, checkpoints=job.checkpoints, dead_letters=job.dead_letters,
        trace_context=job.trace_context,
    )
    # a worker shares its parent's stdout (the --json stream): what steps print goes back as their logs
    with prints_as_logs() if emit is not discard else nullcontext():
        return anyio.run(engine.run_pipeline, job.plan.pipelines[job.pipeline], job.run_id, job.continuation)


def unshippable(plan: Plan, plugins: Plugins, pipelines: Iterable[str]) -> list[str]:
    """What in these pipelines cannot be sent to another process, one line per step."""
    problems = []
    for name in pipelines:
        spec = plan.pipelines[name]
        for steps in spec.phases.values():
            for step in steps:
                where = f"pipeline {name!r}, step {step.id!r} ({step.plugin})"
                entry = plugins.registry.get(step.phase, step.plugin)
                if entry is not None and entry.origin.plugin not in plugins.from_entry_points:
                    problems.append(
                        f"{where}: its plugin {entry.origin.plugin!r} was registered in this process only; "
                        "workers load plugins from installed entry points"
                    )
                elif entry is not None and not isinstance(entry.target, str) and not _pickles(entry.target):
                    problems.append(f"{where}: the step's function cannot be pickled (a lambda or a local function?)")
                if not _pickles(step.args):
                    problems.append(f"{where}: its args cannot be pickled")
    return problems


def _pickles(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - pickling can raise nearly anything
        return False
    return True
