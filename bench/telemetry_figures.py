"""15: what telemetry costs. Resource accounting is on for every run, so its price per step must
stay small: the step-overhead workloads (10,000 no-op sync transforms; 10,000 concurrent no-op
async extracts), in-process, with accounting on (the default) against the same with it off
(``orchestrator.engine.usage.ACCOUNTING.on``, the switch ``ORCHESTRATOR_RESOURCE_ACCOUNTING=off``
sets, flipped in-process between interleaved samples). Accounting is CPU work on the engine's own
threads, so it is priced in the process's CPU time: on a shared machine, wall time swings by more
than the difference measured (the wall-time medians are in the results file too). And ``orchestrator runs stats`` must stay
fast on a long history: whole processes over 100,000 runs, against ``orchestrator runs`` (the
latest 20) on the same history.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bench.environment import PLUGIN_ENV
from bench.harness import US
from bench.history_growth import EARLIER, seed
from bench.measure import Command, Samples, flatten, per_item, run_processes
from bench.report import Row, Target
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine, usage
from orchestrator.plugins.discovery import load_plugins

if TYPE_CHECKING:
    from bench.harness import Bench
    from orchestrator.config.model import Plan
    from orchestrator.plugins.discovery import Plugins

STEPS = 10_000


@contextmanager
def _accounting(on: bool) -> Iterator[None]:
    kept = usage.ACCOUNTING.on
    usage.ACCOUNTING.on = on
    try:
        yield
    finally:
        usage.ACCOUNTING.on = kept


def _run(plan: Plan, plugins: Plugins, *, on: bool) -> Callable[[], None]:
    def run() -> None:
        with _accounting(on):
            result = Engine(plan, plugins).run_sync()
        if not result.ok:
            raise RuntimeError(f"benchmark pipeline failed: {[p.error for p in result.pipelines.values() if p.error][:1]}")

    return run


def cpu_and_wall(functions: Mapping[str, Callable[[], object]], repetitions: int) -> tuple[dict[str, Samples], dict[str, Samples]]:
    """Each call's process CPU time and wall time, round-robin after one warm-up round, with a
    full collection before each call (as :func:`bench.measure.time_calls`)."""
    cpu = {name: Samples() for name in functions}
    wall = {name: Samples() for name in functions}
    for round_number in range(1 + repetitions):
        for name, function in functions.items():
            gc.collect()
            started, clock = time.process_time(), time.perf_counter()
            function()
            if round_number:
                cpu[name].seconds.append(time.process_time() - started)
                wall[name].seconds.append(time.perf_counter() - clock)
    return cpu, wall


def accounting_overhead(bench: Bench) -> list[Row]:
    plugins = load_plugins(env=PLUGIN_ENV)
    rows = []
    workloads = (
        ("sync transforms", lambda n: bench.workspace.transforms_config(n)),
        ("async extracts", lambda n: bench.workspace.extracts_config(n, "bench.noop")),
    )
    for label, config in workloads:
        plans = {n: load_plan(config(n), plugins.registry) for n in (STEPS, 1)}
        calls = {
            f"{state} {n}": _run(plans[n], plugins, on=state == "on") for state in ("on", "off") for n in (STEPS, 1)
        }
        cpu, wall = cpu_and_wall(calls, bench.reps(11, 3))
        on, off = (per_item(cpu[f"{s} {STEPS}"], cpu[f"{s} 1"], STEPS) * US for s in ("on", "off"))
        wall_on, wall_off = (per_item(wall[f"{s} {STEPS}"], wall[f"{s} 1"], STEPS) * US for s in ("on", "off"))
        note = (
            f"in-process: Engine(plan, plugins).run_sync() of one pipeline with {STEPS:,} no-op {label} (bench.noop), minus "
            f"the same with 1, / {STEPS - 1:,}, in process CPU time; resource accounting on (the default: each step's "
            "thread or loop CPU time, the process's peak RSS at its end, its cost when the config has a cost: model) "
            "against the same with orchestrator.engine.usage.ACCOUNTING.on false, samples interleaved. Target: on adds <= 5 us "
            f"per step. Wall time, same samples: {wall_on:.2f} us on, {wall_off:.2f} us off."
        )
        samples = {f"cpu {name}": s for name, s in cpu.items()} | {f"wall {name}": s for name, s in wall.items()}
        rows.append(Row("15", f"resource accounting: {STEPS // 1000}k {label}, CPU per step", "us", on, off, "accounting off",
                        Target(5, "difference"), note, flatten(samples)))
    return rows


def stats_100k(bench: Bench) -> list[Row]:
    folder = f"stats-{EARLIER}"
    config = bench.workspace.history_config(folder)
    database = bench.workspace.root / folder / "state.db"
    seed(config, database, EARLIER)
    state = ("--state", str(database))
    commands = {
        "runs stats": Command((bench.orchestrator, "runs", "stats", *state), env=bench.env, cwd=config.parent),
        "runs": Command((bench.orchestrator, "runs", *state), env=bench.env, cwd=config.parent),
    }
    samples = run_processes(commands, bench.reps(7, 3))
    note = (
        f"`orchestrator runs stats --state DB` (per pipeline: counts, success rate, p50/p90/p99/max, mean CPU, peak RSS, "
        f"rows, cost, trend) over a SQLite history of {EARLIER:,} runs of one pipeline (the history-100k seed: inserted "
        "directly, untimed), whole process; baseline `orchestrator runs --state DB` (the latest 20 runs) on the same file."
    )
    return [Row("15", f"runs stats over {EARLIER:,} runs", "s", samples["runs stats"].median_seconds,
                samples["runs"].median_seconds, "orchestrator runs", Target(1.0), note, flatten(samples))]


def telemetry(bench: Bench) -> list[Row]:
    return [*accounting_overhead(bench), *stats_100k(bench)]
