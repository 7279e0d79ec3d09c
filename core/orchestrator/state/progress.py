"""What a resumed run needs to know about its earlier attempt, and how a config is fingerprinted."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from orchestrator.model import Plan


@dataclass(frozen=True, slots=True)
class Progress:
    """The completed part of a recorded run: pipelines that succeeded, and for every other
    pipeline the steps that succeeded (with their rows). Plain data, so it ships to workers."""

    pipelines: frozenset[str] = frozenset()
    steps: dict[str, dict[str, int | None]] = field(default_factory=dict)

    def done(self, pipeline: str) -> dict[str, int | None]:
        return self.steps.get(pipeline, {})


def config_hash(plan: Plan) -> str:
    """The fingerprint of what a run was asked to do: the config file's bytes and the parameters.
    A resume refuses to continue a run whose fingerprint differs from the current one."""
    digest = hashlib.sha256(plan.source.read_bytes())
    digest.update(b"\0" + json.dumps(plan.params, sort_keys=True, default=str).encode())
    return digest.hexdigest()
