"""What a resumed run knows about its earlier attempt, and how a config is fingerprinted.

Plain data only: it is shipped with a pipeline to executors in other processes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.config.model import Plan


@dataclass(frozen=True, slots=True)
class Progress:
    """The completed part of a recorded run: pipelines that succeeded, and for every other
    pipeline the steps that succeeded (with their rows). Plain data, so it ships to workers."""

    pipelines: frozenset[str] = frozenset()
    steps: dict[str, dict[str, int | None]] = field(default_factory=dict)

    def done(self, pipeline: str) -> dict[str, int | None]:
        return self.steps.get(pipeline, {})


@dataclass(frozen=True, slots=True)
class Continuation:
    """How one pipeline of a run goes on: the steps an earlier attempt of the run completed
    (with their rows), and whether the pipeline keeps checkpoints (in the run's checkpoint store)."""

    done: dict[str, int | None] = field(default_factory=dict)
    checkpoints: bool = False
    #: an earlier attempt of the run exists (its checkpoints may be reused)
    resumed: bool = False
    #: with ``--replay-dead-letters``: the earlier run's dead-letter file whose rows this run
    #: runs again, in place of the pipeline's extract phase
    replay_dead_letters: Path | None = None


def config_hash(plan: Plan) -> str:
    """The fingerprint of what a run was asked to do: the config file's bytes (and those of the
    files it includes) and the parameters.
    A resume refuses to continue a run whose fingerprint differs from the current one."""
    digest = hashlib.sha256(plan.source.read_bytes())
    for included in plan.includes:
        digest.update(b"\0" + included.read_bytes())
    digest.update(b"\0" + json.dumps(plan.params, sort_keys=True, default=str).encode())
    return digest.hexdigest()
