"""The Argo Workflow of a pipeline file, built with hera's models (generated from Argo's schema).

The mapping, as for every engine adapter (``docs/plugins/engine-adapters.md``):

- each pipeline is a DAG task running a container of the image that runs it through the core,
  ``orchestrator run FILE --pipeline NAME --only --run-id {{workflow.uid}}.NAME
  --no-pipeline-retry``, so the run id is the same on every retry of the task, and a retry goes
  on from the run's checkpoints (when they outlive the pod: ``state_claim``);
- ``depends_on`` → the DAG tasks' ``dependencies``: a failed pipeline stops what depends on it,
  and the others run;
- the pipeline's ``retry:`` → the template's ``retryStrategy``: ``limit`` is ``attempts - 1``,
  ``backoff`` starts at ``initial``, doubles when exponential, and is capped at ``max``;
- ``schedule:`` → a CronWorkflow: the cron expression (or an ``every:`` that one can write) in the
  schedule's time zone, ``overlap`` as ``concurrencyPolicy``, ``catchup`` as
  ``startingDeadlineSeconds``; a scheduled pipeline passes ``--logical-time {{workflow.scheduledTime}}``, so
  ``${schedule.*}`` is the tick's data interval.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from hera.workflows import DAG, Container, CronWorkflow, RetryStrategy, Task, Workflow
from hera.workflows import models as m

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec, Plan

#: Argo's names: DNS labels (lower case letters, digits and '-'), at most 63 characters
_LABEL = re.compile(r"[^a-z0-9-]+")
#: a tick missed by more than this is not run under ``catchup: latest`` or ``all``
LATE_TICKS = timedelta(days=1)
CONCURRENCY = {"skip": "Forbid", "cancel": "Replace", "queue": "Allow", "allow": "Allow"}
ENTRYPOINT = "pipelines"


class ManifestError(ValueError):
    """The file cannot be one Argo manifest as asked; the message says what to do instead."""


@dataclass(frozen=True)
class Target:
    """Where the pipeline file is in the image: its folder (``workdir``), and the volume claim
    mounted at its state directory, so the history and checkpoints outlive a pod."""

    image: str
    workdir: str = "/pipelines"
    state_claim: str | None = None


def workflow(config: str | os.PathLike[str], image: str, *, name: str | None = None, pipelines: Iterable[str] = (),
             workdir: str = "/pipelines", state_claim: str | None = None) -> Workflow:
    """The Workflow (a CronWorkflow when its pipelines have a schedule) that runs the pipeline
    file's pipelines (or ``pipelines`` and what they depend on) in containers of ``image``, the
    file being in the image's ``workdir``."""
    path = Path(config).resolve()
    plan = _plan(path)
    specs = _selected(plan, pipelines)
    target = Target(image, workdir, state_claim)
    schedule = _schedule(specs)
    label = _label(name or path.stem)
    volumes = [m.Volume(name="state", persistent_volume_claim=m.PersistentVolumeClaimVolumeSource(claim_name=state_claim))] if state_claim else None
    common: dict[str, Any] = {"entrypoint": ENTRYPOINT, "volumes": volumes}
    made: Workflow
    if schedule is None:
        made = Workflow(generate_name=f"{label}-", **common)
    else:
        made = CronWorkflow(name=label, **schedule, **common)
    with made:
        templates = {spec.name: _template(plan, spec, target, scheduled=schedule is not None) for spec in specs}
        with DAG(name=ENTRYPOINT):
            for spec in specs:
                Task(
                    name=_label(spec.name), template=templates[spec.name],
                    dependencies=[_label(dep) for dep in spec.depends_on if dep in templates] or None,
                )
    return made


def command_line(plan: Plan, spec: PipelineSpec, target: Target, *, scheduled: bool) -> list[str]:
    """What the container of one pipeline runs."""
    config = str(PurePosixPath(target.workdir) / plan.source.name)
    line = [
        "orchestrator", "run", config, "--pipeline", spec.name, "--only", "--run-id", f"{{{{workflow.uid}}}}.{_id_part(spec.name)}",
        "--no-pipeline-retry",
    ]
    if scheduled and spec.schedule is not None:  # the others have no tick: their ${schedule.*} is the run's start
        line += ["--logical-time", "{{workflow.scheduledTime}}"]
    return line


def _template(plan: Plan, spec: PipelineSpec, target: Target, *, scheduled: bool) -> Container:
    mounts = None
    if target.state_claim is not None:
        mounts = [m.VolumeMount(name="state", mount_path=_state_directory(plan, target))]
    return Container(
        name=_template_name(spec.name), image=target.image, command=command_line(plan, spec, target, scheduled=scheduled),
        working_dir=target.workdir, volume_mounts=mounts, retry_strategy=_retry(spec),
    )


def _retry(spec: PipelineSpec) -> RetryStrategy | None:
    policy = spec.policies.retry
    if policy is None:
        return None
    backoff = m.Backoff(
        duration=_duration(policy.initial), factor=m.IntOrString(root=2 if policy.backoff == "exponential" else 1),
        cap=_duration(policy.max),
    )
    return RetryStrategy(limit=policy.attempts - 1, retry_policy="Always", backoff=backoff)


def _schedule(specs: list[PipelineSpec]) -> dict[str, Any] | None:
    """The CronWorkflow's settings from the pipelines' one ``schedule:``; None without one."""
    from orchestrator.config.schedule import Schedule

    found: list[Mapping[str, Any]] = []
    for spec in specs:
        if spec.schedule is not None and spec.schedule not in found:
            found.append(spec.schedule)
    if not found:
        return None
    if len(found) > 1:
        named = [spec.name for spec in specs if spec.schedule is not None]
        raise ManifestError(
            f"pipelines {', '.join(named)} have different schedules, and a CronWorkflow has one; export one per "
            f"schedule: orchestrator export argo FILE --pipeline {named[0]} --name ..."
        )
    schedule = Schedule.from_config(found[0])
    cron = schedule.cron if schedule.cron is not None else _every_as_cron(schedule.every)
    settings: dict[str, Any] = {
        "schedules": [cron],
        "timezone": found[0].get("timezone", "UTC"),
        "concurrency_policy": CONCURRENCY[schedule.overlap],
    }
    if schedule.catchup != "none":
        settings["starting_deadline_seconds"] = int(LATE_TICKS.total_seconds())
    return settings


def _every_as_cron(every: timedelta | None) -> str:
    """An ``every:`` a cron expression can write (minutes dividing an hour, hours dividing a day,
    one day), or :class:`ManifestError`."""
    assert every is not None
    seconds = int(every.total_seconds())
    minutes, hours = seconds // 60, seconds // 3600
    if seconds % 60 == 0 and minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    if seconds % 3600 == 0 and hours < 24 and 24 % hours == 0:
        return f"0 */{hours} * * *"
    if seconds == 86400:
        return "0 0 * * *"
    raise ManifestError(
        f"schedule every: {every} cannot be written as a cron expression, and Argo's CronWorkflows take one; "
        "write the schedule as cron: in the file"
    )


def _plan(path: Path) -> Plan:
    from orchestrator.config.plan import load_plan
    from orchestrator.errors import ConfigError
    from orchestrator.plugins.discovery import load_plugins

    try:
        return load_plan(path, load_plugins().registry)
    except ConfigError as exc:
        problems = "\n".join(str(problem) for problem in exc.problems)
        raise ManifestError(f"{path} is not a valid pipeline file:\n{problems}") from None


def _selected(plan: Plan, pipelines: Iterable[str]) -> list[PipelineSpec]:
    from orchestrator.config.graph import topological_order, with_dependencies

    graph = {name: spec.depends_on for name, spec in plan.pipelines.items()}
    asked = list(pipelines)
    unknown = [name for name in asked if name not in graph]
    if unknown:
        raise ManifestError(f"--pipeline {unknown[0]}: no such pipeline in {plan.source} (its pipelines: {', '.join(graph)})")
    keep = with_dependencies(graph, asked) if asked else set(graph)
    return [plan.pipelines[name] for name in topological_order(graph) if name in keep]


def _state_directory(plan: Plan, target: Target) -> str:
    """Where the file's state directory is in the container: the same place relative to the file."""
    from orchestrator.runstate.layout import STATE_DIR, state_directory

    directory = state_directory(plan.state, plan.base_dir) or plan.base_dir / STATE_DIR
    try:
        return str(PurePosixPath(target.workdir) / directory.relative_to(plan.base_dir).as_posix())
    except ValueError:  # outside the file's folder: the same absolute path
        return directory.as_posix()


def _duration(seconds: float) -> str:
    return f"{seconds:g}s"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _label(text: str) -> str:
    """A DNS label for ``text``: lower case, ``-`` for anything else, a digest when that changed it."""
    cleaned = _LABEL.sub("-", text.lower()).strip("-") or "pipelines"
    if cleaned != text:
        cleaned = f"{cleaned[:40]}-{_digest(text)}"
    return cleaned[:52]


def _template_name(pipeline: str) -> str:
    """``run-<pipeline>``: apart from the DAG's own template, whatever the pipelines are called."""
    return f"run-{_label(pipeline)}"


def _id_part(pipeline: str) -> str:
    """The pipeline's part of the run id (``{{workflow.uid}}`` is 36 characters of a run id's 128)."""
    from orchestrator.runstate.layout import run_id_from

    part = run_id_from(pipeline)
    return part if len(part) <= 80 else f"{part[:70]}-{_digest(pipeline)}"
