"""4: how long loading and validating a 10,000-step config takes, in-process, beside ``yaml.load`` of
the same file: with the core's cache off (validation really runs), warm, and with steps that have no
ids (the core names them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from bench.environment import NO_CACHE_ENV
from bench.harness import Bench, environment, in_process_plugins
from bench.measure import flatten, time_calls
from bench.report import Row, Target
from orchestrator.config.plan import load_plan


def config_load(bench: Bench) -> list[Row]:
    path = bench.workspace.transforms_config(10_000)
    no_ids = bench.workspace.transforms_config(10_000, ids=False)
    registry = in_process_plugins().registry

    def uncached(config: Path) -> Callable[[], None]:
        def load() -> None:
            with environment(NO_CACHE_ENV):
                load_plan(config, registry)

        return load

    samples = time_calls(
        {
            "load_plan, cache off": uncached(path),
            "load_plan": lambda: load_plan(path, registry),
            "yaml.load": lambda: yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader),
        },
        bench.reps(5, 3),
    )
    # steps without ids take seconds each (default ids are found by probing), so fewer rounds
    unnamed = time_calls({"load_plan, no ids, cache off": uncached(no_ids)}, bench.reps(2, 1), warmup=0)
    note = (
        "in-process: orchestrator.config.plan.load_plan (read, interpolate, schema + plugin-args validation, plan) of a "
        "generated config of one pipeline with 10,000 transform steps (explicit ids, or none so the core names them); "
        "baseline: yaml.load(CSafeLoader) of the same file. The target applies with the core's cache off (validation "
        "really runs); the warm row is a repeated load of an unchanged file."
    )
    base = samples["yaml.load"].median_seconds
    return [
        Row(
            "4",
            "load + validate 10k-step config, cache off",
            "s",
            samples["load_plan, cache off"].median_seconds,
            base,
            "yaml.load",
            Target(0.30),
            note,
            flatten(samples | unnamed),
        ),
        Row("4", "load 10k-step config, cache warm", "s", samples["load_plan"].median_seconds, base, "yaml.load"),
        Row(
            "4",
            "load + validate 10k steps without ids, cache off",
            "s",
            unnamed["load_plan, no ids, cache off"].median_seconds,
            base,
            "yaml.load, ids",
            Target(0.30),
        ),
    ]
