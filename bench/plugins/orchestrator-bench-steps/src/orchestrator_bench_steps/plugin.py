"""Registration of the benchmark steps.

Only names, schemas and ``"module:function"`` references live here, like any well-behaved plugin,
so loading this plugin adds nothing measurable to the orchestrator's start-up.

- ``bench.noop`` (extract, async): returns an empty list.
- ``bench.noop`` (transform, sync): returns its input unchanged, so a chain of them runs to the end.
- ``bench.noop`` (load, async): ignores its batches and reports no row count.
- ``bench.sleep`` (extract, async): awaits ``seconds`` (0.1 by default), then returns an empty list.
"""

from __future__ import annotations

from typing import Any

from orchestrator import hookimpl
from orchestrator.plugins.registry import Register

_STEPS = "orchestrator_bench_steps.steps"

NO_ARGS: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
SLEEP_ARGS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "seconds": {
            "type": "number",
            "minimum": 0,
            "description": "How long the step awaits.",
            "examples": [0.1],
        }
    },
}


@hookimpl
def register_extractors(register: Register) -> None:
    register("bench.noop", f"{_STEPS}:noop_extract", schema=NO_ARGS, description="Return an empty list at once (async).")
    register("bench.sleep", f"{_STEPS}:sleep_extract", schema=SLEEP_ARGS, description="Await `seconds`, return an empty list.")


@hookimpl
def register_transformers(register: Register) -> None:
    register("bench.noop", f"{_STEPS}:noop_transform", schema=NO_ARGS, description="Return the data unchanged (sync).")


@hookimpl
def register_loaders(register: Register) -> None:
    register("bench.noop", f"{_STEPS}:noop_load", schema=NO_ARGS, description="Ignore the batches (async).")
