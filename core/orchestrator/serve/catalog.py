"""What a server serves: the pipeline files it was given, each as last loaded, with the schedules
and triggers of its pipelines, under ids that stay the same across restarts.

A schedule's id is ``CONFIG#PIPELINE`` with ``CONFIG`` the file's absolute path: the ledger keys its
ticks by it, so a restarted server (or a second one) finds them again, and ``orchestrator schedules
pause CONFIG#PIPELINE`` names the same thing. A trigger's id adds what it watches (the glob, or the
upstream pipeline), so reordering a file's triggers fires nothing again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from orchestrator.config.schedule import Schedule

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.plugins.registry import Registry

__all__ = ["AfterTrigger", "FileTrigger", "Served", "config_files", "load_served", "pipeline_key", "split_ref"]

CONFIG_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class FileTrigger:
    id: str
    pipeline: str
    pattern: str
    settle: float
    digest: bool
    poll: bool


@dataclass(frozen=True, slots=True)
class AfterTrigger:
    id: str
    pipeline: str
    #: ``CONFIG#PIPELINE`` of the pipeline whose end starts this one
    upstream: str
    status: str


@dataclass
class Served:
    """One pipeline file as last loaded successfully."""

    path: Path
    plan: Plan
    mtime_ns: int
    schedules: dict[str, tuple[str, Schedule]] = field(default_factory=dict)
    files: list[FileTrigger] = field(default_factory=list)
    afters: list[AfterTrigger] = field(default_factory=list)
    #: the files the config includes, with their modification times when it was loaded
    included: dict[Path, int] = field(default_factory=dict)

    def includes_changed(self) -> bool:
        """Whether a file the config includes changed (or went) since it was loaded."""
        return any(_mtime(path) != mtime for path, mtime in self.included.items())

    def seen_broken(self) -> None:
        """The file (or one it includes) changed and does not load: this version keeps running,
        and the broken one is not tried again until the files change once more."""
        self.mtime_ns = _mtime(self.path)
        self.included = {included: _mtime(included) for included in self.included}


def pipeline_key(config: Path, pipeline: str) -> str:
    """``CONFIG#PIPELINE``: the id of a pipeline's schedule, and how triggers name upstreams."""
    return f"{config}#{pipeline}"


def split_ref(ref: str, base: Path) -> tuple[Path, str]:
    """``FILE#NAME`` (``FILE`` relative to ``base``) as (absolute file, pipeline name)."""
    file, _, name = ref.rpartition("#")
    if not file or not name:
        raise ValueError(f"{ref!r} is not FILE#PIPELINE")
    return Path(os.path.abspath(base / file)), name


@overload
def config_files(targets: Iterable[str | Path]) -> list[Path]: ...
@overload
def config_files(targets: Iterable[str | Path], *, with_mtimes: Literal[True]) -> dict[Path, int]: ...
def config_files(targets: Iterable[str | Path], *, with_mtimes: bool = False) -> list[Path] | dict[Path, int]:
    """The pipeline files given: a file as it is, a directory as every ``*.yaml``/``*.yml`` in it.
    ``with_mtimes``: each with its modification time (-1 when it is gone), read in the same pass
    (the server asks every second, for every file it serves)."""
    found: dict[Path, int] = {}
    for target in targets:
        path = Path(os.path.abspath(target))
        if path.is_dir():
            with os.scandir(path) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if entry.name.endswith(CONFIG_SUFFIXES) and entry.is_file():
                        found[path / entry.name] = entry.stat().st_mtime_ns if with_mtimes else 0
        elif path not in found:
            try:
                found[path] = path.stat().st_mtime_ns if with_mtimes else 0
            except OSError:
                found[path] = -1
    return found if with_mtimes else list(found)


def load_served(path: Path, registry: Registry) -> Served:
    """Load and validate one file (raises ConfigError) and read its schedules and triggers."""
    from orchestrator.config.plan import load_plan

    mtime = path.stat().st_mtime_ns
    plan = load_plan(path, registry)
    served = Served(path, plan, mtime, included={included: _mtime(included) for included in plan.includes})
    for name, pipeline in plan.pipelines.items():
        if pipeline.schedule is not None:
            served.schedules[pipeline_key(path, name)] = (name, Schedule.from_config(pipeline.schedule))
        for trigger in pipeline.triggers:
            _add_trigger(served, name, trigger)
    return served


def _add_trigger(served: Served, pipeline: str, trigger: dict[str, Any]) -> None:
    from orchestrator.config.policies import seconds

    own = pipeline_key(served.path, pipeline)
    if "file" in trigger:
        spec = trigger["file"]
        pattern = spec["path"]
        settle = seconds(spec.get("settle", "5s"))
        served.files.append(
            FileTrigger(f"{own} file {pattern}", pipeline, pattern, settle, bool(spec.get("digest")), bool(spec.get("poll")))
        )
    else:
        spec = trigger["after"]
        ref = spec["pipeline"]
        upstream = pipeline_key(*split_ref(ref, served.path.parent)) if "#" in ref else pipeline_key(served.path, ref)
        served.afters.append(AfterTrigger(f"{own} after {upstream}", pipeline, upstream, spec.get("status", "succeeded")))


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1
