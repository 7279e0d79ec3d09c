"""Figures of the pipeline language: what ``foreach:`` costs per instance, beside the same number of
plain pipelines written out one by one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bench.environment import NO_CACHE_ENV, PLUGIN_ENV
from bench.harness import US, Bench, environment
from bench.measure import Samples, flatten, per_item, time_calls
from bench.report import Row, Target
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.plugins.discovery import Plugins, load_plugins

#: the trivial extract -> load of the whole-run figures (bench/steps/trivial_steps.py)
_STEPS = (
    "    phases:\n"
    "      extract:\n        steps: [{{id: extract, plugin: python.call, args: {{callable: 'trivial_steps:extract_region'{kwargs}}}}}]\n"
    "      load:\n        steps: [{{id: load, plugin: python.call, args: {{callable: 'trivial_steps:load'}}}}]\n"
)


def _foreach_config(root: Path, count: int) -> Path:
    """One pipeline with ``foreach`` over ``count`` items, each instance given its item."""
    path = root / f"foreach_{count}.yaml"
    body = f"pipelines:\n  p:\n    type: ETL\n    foreach: {json.dumps([f'i{i}' for i in range(count)])}\n"
    path.write_text(body + _STEPS.format(kwargs=", kwargs: {region: '${item}'}"), encoding="utf-8")
    return path


def _plain_config(root: Path, count: int) -> Path:
    """``count`` pipelines written out, each given its own value: what the foreach stands for."""
    path = root / f"plain_{count}.yaml"
    parts = ["pipelines:\n"]
    for i in range(count):
        parts.append(f"  p_i{i}:\n    type: ETL\n" + _STEPS.format(kwargs=f", kwargs: {{region: i{i}}}"))
    path.write_text("".join(parts), encoding="utf-8")
    return path


def foreach_instances(bench: Bench) -> list[Row]:
    count = 10_000
    root = bench.workspace.root
    plugins = load_plugins(env=PLUGIN_ENV)
    configs = {kind: {n: make(root, n) for n in (count, 1)} for kind, make in (("foreach", _foreach_config), ("plain", _plain_config))}
    reps = bench.reps(5, 2)

    def load(path: Path) -> Callable[[], None]:
        def call() -> None:
            with environment(NO_CACHE_ENV):
                load_plan(path, plugins.registry)

        return call

    loads = time_calls({f"{kind} {n}": load(path) for kind, by in configs.items() for n, path in by.items()}, reps)
    plans = {f"{kind} {n}": load_plan(path, plugins.registry) for kind, by in configs.items() for n, path in by.items()}
    runs = time_calls({name: _run(plan, plugins) for name, plan in plans.items()}, reps)

    def per(samples: dict[str, Samples], kind: str) -> float:
        return per_item(samples[f"{kind} {count}"], samples[f"{kind} 1"], count) * US

    expand, written = per(loads, "foreach"), per(loads, "plain")
    scheduled, plain = per(runs, "foreach"), per(runs, "plain")
    load_note = (
        "in-process, cache off: load_plan of one ETL pipeline with foreach over 10,000 items (each instance's python.call "
        "extract given ${item}), minus the same over 1 item, / 9,999: reading, validating once and expanding into 10,000 "
        "pipelines. Baseline: load_plan of the 10,000 pipelines written out (each validated), the same way."
    )
    run_note = (
        "in-process: Engine(plan, plugins).run_sync() (discard event sink) of the 10,000 instances, each a trivial "
        "python.call extract -> load (bench/steps/trivial_steps.py), minus 1 instance, / 9,999. Baseline: the 10,000 "
        "written-out pipelines run the same way. Target: what the foreach adds to scheduling, <= 50 us per instance "
        "(with the expansion row, <= 50 us in all)."
    )
    return [
        Row("L1", "foreach 10k: expansion per instance", "us", expand, written, "10k plain pipelines", Target(50), load_note, flatten(loads)),
        Row("L1", "foreach 10k: run per instance", "us", scheduled, plain, "10k plain pipelines", Target(50, "difference"), run_note, flatten(runs)),
    ]


def _run(plan: object, plugins: Plugins) -> Callable[[], None]:
    def call() -> None:
        result = Engine(plan, plugins).run_sync()  # type: ignore[arg-type]
        if not result.ok:
            raise RuntimeError(f"the benchmark's pipelines failed: {[p.error for p in result.pipelines.values() if p.error][:3]}")

    return call
