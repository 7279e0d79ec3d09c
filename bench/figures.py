"""The figures: what each measures, against which baseline, and the target it must meet.

Each figure is a function from the shared :class:`Bench` to table rows. Whole-process figures run
the ``orchestrator`` console script as a user would, with stdout to /dev/null (so the plain-line
reporter is used, as when piped to a log); in-process figures time the core's Python API.
"""

from __future__ import annotations

import filecmp
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import yaml
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.config.model import Plan
from orchestrator.plugins.discovery import Plugins, load_plugins

from bench.environment import (
    ARROW_PLUGIN_ENV,
    DASK_PLUGIN_ENV,
    BENCH_DIR,
    CONFIG_SCHEMA,
    NO_CACHE_ENV,
    PLUGIN_ENV,
    measured_env,
    orchestrator_script,
)
from bench.history_growth import history_100k
from bench.measure import Command, Samples, flatten, per_item, python_command, run_processes, time_calls
from bench.plugin_envs import all_plugins_env, prepare
from bench.report import Row, Target
from bench.workspace import Workspace, arrow_csv_input

BASELINES = BENCH_DIR / "baselines"
US = 1e6
OURS, OURS_NO_CACHE = "orchestrator run", "orchestrator run, cache off"
#: Notes that apply to several figures, printed once under the table.
FOOTNOTES = (
    "'cache off' rows set ORCHESTRATOR_NO_CACHE=1 (a first run, or a core without its start-up cache); "
    "other runs keep the core's cache in the work directory, warmed by the discarded first round.",
    "Whole-process times are medians of wall time from launch to exit (stdout to /dev/null); peak RSS is "
    "the child's maximum resident set (GNU time %M). Ratios are ours / baseline; the baseline of each row "
    "is measured in the same run, interleaved round by round with ours.",
)


@dataclass
class Bench:
    """What every figure needs: inputs, commands, and how many repetitions to take."""

    workspace: Workspace
    quick: bool
    python: str = sys.executable

    def __post_init__(self) -> None:
        self.orchestrator = orchestrator_script()
        self.env = measured_env(self.workspace.root / "cache")
        # in-process figures see exactly what the measured subprocesses see
        os.environ.clear()
        os.environ.update(self.env)

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def run(
        self, config: Path, *, cache: bool = True, script: str | None = None, env: Mapping[str, str] | None = None
    ) -> Command:
        """``orchestrator run CONFIG`` as a user runs it, from the config's directory; by default
        with this virtualenv's script and the measured environment."""
        base = dict(self.env if env is None else env)
        if not cache:
            base |= NO_CACHE_ENV
        return Command((script or self.orchestrator, "run", str(config)), env=base, cwd=config.parent)

    def runs(self, config: Path) -> dict[str, Command]:
        """The run with the core's cache warm and with it switched off, to be measured together."""
        return {OURS: self.run(config), OURS_NO_CACHE: self.run(config, cache=False)}

    def baseline(self, script: str, *args: str | Path) -> Command:
        """A plain-Python baseline script of ``bench/baselines``."""
        return python_command(self.python, BASELINES / script, *args, env=self.env)

    def bare_python(self) -> Command:
        """``python -c pass``: the floor every whole-process figure stands on."""
        return python_command(self.python, "-c", "pass", env=self.env)


def _time_rows(figure: str, label: str, samples: dict[str, Samples], baseline: str, target: Target, note: str) -> list[Row]:
    """A whole-run time row with the cache warm and one with it off, against the same baseline."""
    base = samples[baseline].median_seconds
    return [
        Row(figure, label, "s", samples[OURS].median_seconds, base, baseline, target, note, flatten(samples)),
        Row(figure, label + ", cache off", "s", samples[OURS_NO_CACHE].median_seconds, base, baseline, target),
    ]


@contextmanager
def _environment(extra: dict[str, str]) -> Iterator[None]:
    """Set environment variables for in-process code for the duration of a block."""
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# -- 1, 2: start-up ---------------------------------------------------------------------------


def cold_start(bench: Bench) -> list[Row]:
    config = bench.workspace.cold_start_config()
    samples = run_processes(
        {
            **bench.runs(config),
            "plain script": bench.baseline("cold_start.py", config, CONFIG_SCHEMA),
            "python -c pass": bench.bare_python(),
        },
        bench.reps(15, 5),
    )
    note = (
        "`orchestrator run` of a one-pipeline config (python.call extract -> python.call load of two rows, "
        "async functions); baselines: bench/baselines/cold_start.py (imports click, pluggy, yaml, jsonschema, anyio, "
        "loads + schema-validates the same file, runs the same two functions) and `python -c pass`."
    )
    ours, off, script, bare = (samples[k] for k in (OURS, OURS_NO_CACHE, "plain script", "python -c pass"))
    return [
        *_time_rows("1", "cold start: time", samples, "plain script", Target(0.20), note),
        Row("1", "cold start: time vs bare python", "s", ours.median_seconds, bare.median_seconds, "python -c pass"),
        Row("1", "cold start: peak RSS", "MiB", ours.median_rss_mib, script.median_rss_mib, "plain script", Target(40)),
        Row("1", "cold start: peak RSS, cache off", "MiB", off.median_rss_mib, script.median_rss_mib, "plain script", Target(40)),
        Row("1", "cold start: peak RSS vs bare python", "MiB", ours.median_rss_mib, bare.median_rss_mib, "python -c pass"),
    ]


def version(bench: Bench) -> list[Row]:
    command = Command((bench.orchestrator, "--version"), env=bench.env)
    samples = run_processes({"orchestrator --version": command, "python -c pass": bench.bare_python()}, bench.reps(15, 5))
    ours, bare = samples["orchestrator --version"], samples["python -c pass"]
    note = "`orchestrator --version` (console script: imports click and the CLI module only); baseline `python -c pass`."
    return [
        Row(
            "2",
            "--version: time",
            "s",
            ours.median_seconds,
            bare.median_seconds,
            "python -c pass",
            Target(0.12),
            note,
            flatten(samples),
        ),
    ]


# -- 3, 4: in-process engine and config ---------------------------------------------------------


def _in_process_plugins() -> Plugins:
    """Plugins discovered through entry points with the same allow-list as the subprocesses."""
    return load_plugins(env=PLUGIN_ENV)


def _engine_run(plan: Plan, plugins: Plugins) -> Callable[[], None]:
    """A call that runs a plan on a fresh Engine (default discard event sink) and fails loudly if a
    pipeline did not succeed: timing a failing run would flatter the engine."""

    def run() -> None:
        result = Engine(plan, plugins).run_sync()
        if not result.ok:
            errors = [p.error for p in result.pipelines.values() if p.error]
            raise RuntimeError(f"benchmark pipeline failed: {errors[:1]}")

    return run


def step_overhead(bench: Bench) -> list[Row]:
    from orchestrator_bench_steps.steps import noop_extract, noop_transform  # installed by the harness

    steps = 10_000
    plugins = _in_process_plugins()
    plan = {n: load_plan(bench.workspace.transforms_config(n), plugins.registry) for n in (steps, 1)}
    fan = {n: load_plan(bench.workspace.extracts_config(n, "bench.noop"), plugins.registry) for n in (steps, 1)}
    reps = bench.reps(7, 3)

    def loop() -> None:
        data: Any = []
        for _ in range(steps):
            data = noop_transform(None, data)

    def tasks(count: int) -> Callable[[], None]:
        async def main() -> None:
            async with anyio.create_task_group() as group:
                for _ in range(count):
                    group.start_soon(noop_extract, None)

        return lambda: anyio.run(main)

    sync = time_calls({"engine 10000": _engine_run(plan[steps], plugins), "engine 1": _engine_run(plan[1], plugins)}, reps)
    concurrent = time_calls({"engine 10000": _engine_run(fan[steps], plugins), "engine 1": _engine_run(fan[1], plugins)}, reps)
    plain = time_calls({"loop 10000": loop}, reps)
    group = time_calls({"anyio 10000": tasks(steps), "anyio 1": tasks(1)}, reps)

    def net(samples: dict[str, Samples], prefix: str) -> float:
        return per_item(samples[f"{prefix} 10000"], samples[f"{prefix} 1"], steps) * US

    sync_note = (
        "in-process: Engine(plan, plugins).run_sync() of one pipeline with 10,000 no-op sync transforms "
        "(bench.noop), minus the same with 1 transform, / 9,999; plan built once, discard event sink. "
        "Baseline: a Python loop calling the same function 10,000 times (/ 10,000)."
    )
    async_note = (
        "in-process: as above with 10,000 no-op async extract steps (bench.noop, concurrency 10000) minus 1 extract. "
        "Baseline: an anyio task group starting 10,000 no-op tasks minus 1 task, / 9,999."
    )
    return [
        Row(
            "3",
            "step overhead: 10k sync transforms",
            "us",
            net(sync, "engine"),
            plain["loop 10000"].median_seconds / steps * US,
            "plain loop",
            Target(20),
            sync_note,
            flatten(sync | plain),
        ),
        Row(
            "3",
            "step overhead: 10k async extracts",
            "us",
            net(concurrent, "engine"),
            net(group, "anyio"),
            "anyio tasks",
            Target(20),
            async_note,
            flatten(concurrent | group),
        ),
    ]


def config_load(bench: Bench) -> list[Row]:
    path = bench.workspace.transforms_config(10_000)
    no_ids = bench.workspace.transforms_config(10_000, ids=False)
    registry = _in_process_plugins().registry

    def uncached(config: Path) -> Callable[[], None]:
        def load() -> None:
            with _environment(NO_CACHE_ENV):
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


# -- 5, 6, 7: whole runs --------------------------------------------------------------------------


def sleeps(bench: Bench) -> list[Row]:
    tasks, seconds = 5000, 0.1
    config = bench.workspace.extracts_config(tasks, "bench.sleep", f"{{seconds: {seconds}}}")
    samples = run_processes(
        {**bench.runs(config), "anyio script": bench.baseline("sleep_tasks.py", str(tasks), str(seconds))},
        bench.reps(5, 3),
    )
    note = (
        "`orchestrator run` of one pipeline with 5,000 bench.sleep extract steps (await 0.1 s each, concurrency 5000) "
        "and a no-op load, plain output to /dev/null; baseline: bench/baselines/sleep_tasks.py, 5,000 anyio tasks sleeping 0.1 s."
    )
    return _time_rows("5", "5000 × 0.1 s async extracts", samples, "anyio script", Target(0.30), note)


def many_pipelines(bench: Bench) -> list[Row]:
    count = 1000
    config = bench.workspace.many_pipelines_config(count)
    samples = run_processes(
        {**bench.runs(config), "anyio script": bench.baseline("trivial_pipelines.py", bench.workspace.root, str(count))},
        bench.reps(5, 3),
    )
    note = (
        "`orchestrator run` of 1,000 independent pipelines, each python.call extract -> python.call load of the async "
        "functions in bench/steps/trivial_steps.py, plain output to /dev/null; baseline: bench/baselines/trivial_pipelines.py, "
        "1,000 anyio tasks awaiting the same extract -> load."
    )
    return _time_rows("6", "1000 trivial pipelines", samples, "anyio script", Target(0.25), note)


def csv_rows(bench: Bench) -> list[Row]:
    rows = 1_000_000
    source = bench.workspace.csv_input(rows)
    out = bench.workspace.root / "out"
    outputs = {
        OURS: out / "rows_orchestrator.csv",
        "csv module": out / "rows_dicts.csv",
        "csv lists": out / "rows_lists.csv",
        "checkpoint: false": out / "rows_no_checkpoint.csv",
    }
    config = bench.workspace.csv_config(source, outputs[OURS])
    samples = run_processes(
        {
            OURS: bench.run(config),
            "checkpoint: false": bench.run(bench.workspace.csv_config(source, outputs["checkpoint: false"], checkpoint=False)),
            "csv module": bench.baseline("csv_rows.py", source, outputs["csv module"], "dicts"),
            "csv lists": bench.baseline("csv_rows.py", source, outputs["csv lists"], "lists"),
        },
        bench.reps(3, 1),
        warmup=0 if bench.quick else 1,
    )
    same = all(filecmp.cmp(outputs[OURS], other, shallow=False) for other in list(outputs.values())[1:])
    ours, dicts, lists = samples[OURS], samples["csv module"], samples["csv lists"]
    note = (
        "`orchestrator run`: csv.read (batches of 5,000 row dicts) -> python.call bench/steps/csv_steps.py:add_column "
        "(sync, in a worker thread) -> csv.write, 1,000,000 rows x 5 columns; baseline (the target's): "
        "bench/baselines/csv_rows.py dicts, csv.DictReader -> same column -> csv.DictWriter row by row; for "
        "information also csv_rows.py lists (csv.reader -> list rows -> csv.writer, the fastest plain script). "
        "Ours keeps the stream as a checkpoint for --resume, the default. "
        f"All outputs byte-identical: {'yes' if same else 'NO'}."
    )
    return [
        Row(
            "7",
            "1M-row CSV: time",
            "s",
            ours.median_seconds,
            dicts.median_seconds,
            "csv module",
            Target(1.10, "ratio"),
            note,
            flatten(samples),
        ),
        Row("7", "1M-row CSV: time vs list rows", "s", ours.median_seconds, lists.median_seconds, "csv lists"),
        Row("7", "1M-row CSV, checkpoint: false: time", "s", samples["checkpoint: false"].median_seconds,
            dicts.median_seconds, "csv module", None,
            "As above with `checkpoint: false` on the pipeline: no copy of the stream kept for --resume."),
        Row("7", "1M-row CSV: peak RSS", "MiB", ours.median_rss_mib, dicts.median_rss_mib, "csv module", Target(120)),
    ]


# -- 8: Arrow ---------------------------------------------------------------------------------


def arrow_parquet(bench: Bench) -> list[Row]:
    rows = 10_000_000
    source = arrow_csv_input(bench.workspace.root, rows)
    out = bench.workspace.root / "out"
    outputs = {OURS: out / "arrow_orchestrator.parquet", "pyarrow script": out / "arrow_script.parquet"}
    config = bench.workspace.arrow_config(source, outputs[OURS])
    run = bench.run(config)
    ours = Command(run.argv, env=dict(run.env or {}) | ARROW_PLUGIN_ENV, cwd=run.cwd)
    samples = run_processes(
        {OURS: ours, "pyarrow script": bench.baseline("arrow_csv_to_parquet.py", source, outputs["pyarrow script"])},
        bench.reps(3, 1),
        warmup=0 if bench.quick else 1,
    )
    same = filecmp.cmp(outputs[OURS], outputs["pyarrow script"], shallow=False)
    mib = source.stat().st_size / 2**20
    mine, script = samples[OURS], samples["pyarrow script"]
    note = (
        f"`orchestrator run` (ORCHESTRATOR_LOAD_PLUGINS=builtin,arrow): arrow.read_csv (1 MiB blocks as record batches) "
        f"-> arrow.write_parquet (snappy, row groups of 262,144 rows, temp file renamed), {rows:,} rows x 5 columns "
        f"({mib:.0f} MiB of CSV, generated once with pyarrow); baseline: bench/baselines/arrow_csv_to_parquet.py, the plain "
        "pyarrow script doing the same streaming conversion with the same settings. Target time <= 1.25x the script "
        f"(throughput >= 80%). Outputs byte-identical: {'yes' if same else 'NO'}."
    )
    return [
        Row(
            "8",
            "10M-row CSV -> Parquet: time",
            "s",
            mine.median_seconds,
            script.median_seconds,
            "pyarrow script",
            Target(1.25, "ratio"),
            note,
            flatten(samples),
        ),
        Row("8", "10M-row CSV -> Parquet: peak RSS", "MiB", mine.median_rss_mib, script.median_rss_mib, "pyarrow script", Target(300)),
    ]


# -- 9: many plugins installed ---------------------------------------------------------------


def many_plugins(bench: Bench) -> list[Row]:
    """Start-up with the contrib plugins and 50 generated plugin distributions installed, against
    the same command in an environment with only the core. No allow-list: discovering and
    importing every installed plugin is what is measured."""
    env = all_plugins_env(bench.env)
    envs = prepare(bench.workspace.root / "plugin-envs", env)
    config = bench.workspace.cold_start_config()
    loaded, bare = f"{envs.plugin_count} plugins", "core only"
    commands: dict[str, Command] = {}
    for label, venv in ((loaded, envs.loaded), (bare, envs.bare)):
        commands[label] = bench.run(config, script=venv.orchestrator, env=env)
        commands[f"{label}, cache off"] = bench.run(config, cache=False, script=venv.orchestrator, env=env)
    samples = run_processes(commands, bench.reps(15, 5))
    contrib = ", ".join(envs.contrib) or "none"
    if len(envs.contrib) < 3:
        contrib += f" (only {len(envs.contrib)} contrib distribution(s) existed, so fewer than 53 plugins)"
    created = (
        f"created in this run in {envs.created_seconds:.0f} s (not timed; first run, or after a pyproject.toml or "
        "the dummy generator changed)"
        if envs.created_seconds
        else "reused from an earlier run"
    )
    note = (
        f"`orchestrator run` of the cold-start config (python.call extract -> load), all plugins allowed (no "
        f"ORCHESTRATOR_LOAD_PLUGINS), in two virtualenvs under the work dir: '{loaded}' = core + contrib ({contrib}, "
        f"editable) + {len(envs.dummies)} generated wheels orchestrator-plugin-dummy-NN (each an entry-point module "
        f"registering an extract, a transform and a load with args schemas by 'module:function'); baseline "
        f"'{bare}' = the core alone (editable). Target: ours - baseline <= 0.05 s. Environments {created}."
    )
    title, limit = f"{loaded} installed", Target(0.05, "difference")
    ours, base = samples[loaded], samples[bare]
    ours_off, base_off = samples[f"{loaded}, cache off"], samples[f"{bare}, cache off"]
    return [
        Row("9", f"{title}: start-up", "s", ours.median_seconds, base.median_seconds, bare, limit, note, flatten(samples)),
        Row("9", f"{title}: start-up, cache off", "s", ours_off.median_seconds, base_off.median_seconds, f"{bare}, cache off", limit),
        Row("9", f"{title}: peak RSS", "MiB", ours.median_rss_mib, base.median_rss_mib, bare),
        Row("9", f"{title}: peak RSS, cache off", "MiB", ours_off.median_rss_mib, base_off.median_rss_mib, f"{bare}, cache off"),
    ]


# -- 10, 11: executors -------------------------------------------------------------------------


def _cpu_timed(cpu: dict[str, list[float]], name: str, function: Callable[[], object]) -> Callable[[], None]:
    """``function``, also keeping this process's CPU time of each call under ``name``."""

    def call() -> None:
        started = time.process_time()
        function()
        cpu.setdefault(name, []).append(time.process_time() - started)

    return call


def dag_pipelines(bench: Bench) -> list[Row]:
    """1,000 trivial pipelines in a DAG on ``local`` and on ``dask`` (a 2-worker LocalCluster
    started once, reached by address), against raw ``client.submit`` of the same DAG on the same
    cluster. In-process: the cluster's start-up is paid once, outside every timing."""
    from distributed import Client, LocalCluster  # installed with the contrib Dask plugin

    from bench.baselines.dask_submit import binary_tree, submit_dag

    count = 1000
    parents = binary_tree(count)
    root = str(bench.workspace.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    import dag_steps  # copied into the work dir by Workspace; workers import it through PYTHONPATH

    plugins = load_plugins(env=DASK_PLUGIN_ENV)
    local_plan = load_plan(bench.workspace.dag_config(parents), plugins.registry)
    reps = bench.reps(3, 1)
    with _environment(DASK_PLUGIN_ENV | {"PYTHONPATH": root}):
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", silence_logs=40
        ) as cluster, Client(cluster) as client:
            dask_plan = load_plan(bench.workspace.dag_config(parents, cluster.scheduler_address), plugins.registry)
            cpu: dict[str, list[float]] = {}
            samples = time_calls(
                {
                    "local": _engine_run(local_plan, plugins),
                    "dask": _cpu_timed(cpu, "dask", _engine_run(dask_plan, plugins)),
                    "client.submit": _cpu_timed(cpu, "client.submit", lambda: submit_dag(client, parents, dag_steps.pipeline)),
                },
                reps,
            )
    per = {name: s.median_seconds / count * US for name, s in samples.items()}
    # this process's CPU (the client, and the LocalCluster's scheduler, which runs in it), warm-up left out
    per_cpu = {name: statistics.median(times[1:] or times) / count * US for name, times in cpu.items()}
    note = (
        "in-process: Engine(plan, plugins).run_sync() (discard event sink, so no events are relayed) of 1,000 "
        "pipelines in a binary-tree DAG (pI depends on p((I-1)//2), 10 levels), each python.call extract -> "
        "python.call load of the sync functions in bench/steps/dag_steps.py; / 1,000. 'dask' runs them on a "
        "LocalCluster of 2 single-threaded worker processes started once for the figure and given to the executor "
        "by address (start-up not timed); the executor hands Dask the whole DAG (parents' tasks as dependencies). "
        "Baseline: bench/baselines/dask_submit.py on the same cluster in the same "
        "run, client.submit of one task per pipeline calling the same extract and load, parents' futures passed as "
        "arguments, all submitted at once and gathered. Targets: wall time <= raw client.submit + 1 ms per pipeline; "
        "CPU of this process (client and scheduler) <= 1.5x raw client.submit's."
    )
    return [
        Row("10", "1000-pipeline DAG: dask, per pipeline", "us", per["dask"], per["client.submit"], "client.submit",
            Target(1000, "difference"), note, flatten(samples)),
        Row("10", "1000-pipeline DAG: dask, client CPU per pipeline", "us", per_cpu["dask"], per_cpu["client.submit"],
            "client.submit", Target(1.5, "ratio")),
        Row("10", "1000-pipeline DAG: local, per pipeline", "us", per["local"], per["client.submit"], "client.submit"),
    ]


def process_cpu(bench: Bench) -> list[Row]:
    """CPU-bound pure-Python pipelines on the ``process`` executor: 2 workers against 1, whole runs."""
    pipelines, loops = 8, 8_000_000
    configs = {workers: bench.workspace.cpu_config(pipelines, loops, workers) for workers in (1, 2)}
    samples = run_processes(
        {"workers: 2": bench.run(configs[2]), "workers: 1": bench.run(configs[1])}, bench.reps(3, 1), warmup=0
    )
    two, one = samples["workers: 2"], samples["workers: 1"]
    note = (
        f"`orchestrator run` of {pipelines} independent pipelines, each python.call extract -> python.call "
        f"bench/steps/cpu_steps.py:burn ({loops:,} iterations of pure-Python integer arithmetic, about 0.6 s of CPU) "
        "-> python.call load, on the process executor with workers: 2 (ours) and workers: 1 (baseline), whole "
        "processes including the workers' start-up. Target: time ratio <= 1/1.7, i.e. 2 workers reach >= 1.7x "
        f"the throughput of 1 (measured: {one.median_seconds / two.median_seconds:.2f}x)."
    )
    return [
        Row("11", "8 CPU-bound pipelines, process workers: 2 vs 1", "s", two.median_seconds, one.median_seconds,
            "workers: 1", Target(1 / 1.7, "ratio"), note, flatten(samples)),
    ]


# -- 12: run state ---------------------------------------------------------------------------------


def state_overhead(bench: Bench) -> list[Row]:
    """What recording the run into the state store adds per step: the same 10,000-step run with
    ``state: off`` and with the default SQLite store (and a PostgreSQL server, when one can be
    started on this machine), whole processes, interleaved."""
    steps = 10_000
    counted = steps + 2  # the transforms, the extract and the load
    database = bench.workspace.root / "state" / "state.db"
    for stale in database.parent.glob("state.db*"):
        stale.unlink()
    commands = {
        "state: off": bench.run(bench.workspace.state_config(steps, "off", "off")),
        "state: sqlite": bench.run(bench.workspace.state_config(steps, "sqlite", f"sqlite:///{database}")),
    }
    server = _postgresql_server()
    if server is not None:
        url = server.url(server.create_schema("bench"))
        commands["state: postgresql"] = bench.run(bench.workspace.state_config(steps, "postgresql", url))
    try:
        samples = run_processes(commands, bench.reps(7, 3))
    finally:
        if server is not None:
            _stop(server)
    off = samples["state: off"].median_seconds / counted * US
    note = (
        f"`orchestrator run` of one pipeline with a no-op extract, {steps:,} no-op sync transforms (bench.noop) and a "
        f"no-op load, recording into the default SQLite store (ours) against the same run with `state: off` "
        f"(baseline), whole processes, each median / {counted:,} steps: the difference is what recording costs per step."
    )
    rows = [Row("12", "state recording per step: SQLite", "us", samples["state: sqlite"].median_seconds / counted * US,
                off, "state: off", Target(100, "difference"), note, flatten(samples))]
    if server is not None:
        rows.append(Row("12", "state recording per step: PostgreSQL", "us",
                        samples["state: postgresql"].median_seconds / counted * US, off, "state: off", None,
                        "As above, recording into a PostgreSQL server on 127.0.0.1 (started for the figure, fsync off)."))
    return rows


def resume_time(bench: Bench) -> list[Row]:
    """13: how long ``orchestrator run --resume`` takes to continue a failed 10,000-step run whose
    last pipeline failed in its load, against running the same 10,000 steps from the start."""
    import shutil
    import subprocess

    pipelines = 1000
    failed = bench.workspace.resume_config(pipelines, "resume_failed")
    fresh = bench.workspace.resume_config(pipelines, "resume_fresh")
    folder, state, kept = failed.parent, failed.parent / ".orchestrator", failed.parent / "failed-run-state"
    for stale in (state, kept, fresh.parent / ".orchestrator"):
        shutil.rmtree(stale, ignore_errors=True)
    (folder / "broken").touch()
    first = subprocess.run((bench.orchestrator, "run", str(failed)), env=bench.env, cwd=folder, capture_output=True, check=False)
    assert first.returncode == 1, f"the run to resume should fail in its last pipeline: {first.stderr.decode()[-500:]}"
    (folder / "broken").unlink()
    shutil.copytree(state, kept)

    def failed_again() -> None:  # every sample resumes the same failed run
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(kept, state)

    resume = Command((bench.orchestrator, "run", str(failed), "--resume"), env=bench.env, cwd=folder, prepare=failed_again)
    samples = run_processes({"--resume": resume, "from the start": bench.run(fresh)}, bench.reps(5, 3))
    note = (
        f"`orchestrator run --resume` of a run of {pipelines:,} independent pipelines of 10 no-op steps each (10,000 "
        "steps), whose last pipeline failed in its load: 999 pipelines are reused from the history, the last one "
        "goes on from its transform checkpoint and runs its load. Baseline: `orchestrator run` of the same config "
        "from the start, with the default SQLite history and checkpoints. Whole processes; the state directory is "
        "put back before each resume (untimed)."
    )
    return [Row("13", "resume a failed 10,000-step run", "s", samples["--resume"].median_seconds,
                samples["from the start"].median_seconds, "the same run from the start", None, note, flatten(samples))]


def _postgresql_server() -> Any:
    """A throw-away PostgreSQL server (the test kit's), or None when this machine cannot start one."""
    from orchestrator.testing.postgresql import start_server

    try:
        import psycopg  # noqa: F401 - the store needs it
        return start_server()
    except (ImportError, LookupError, RuntimeError) as exc:
        print(f"  no PostgreSQL row: {exc}".splitlines()[0], file=sys.stderr)
        return None


def _stop(server: Any) -> None:
    import shutil

    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


#: Every figure by the name ``--only`` takes, in the order the table shows them.
FIGURES: dict[str, Callable[[Bench], list[Row]]] = {
    "cold-start": cold_start,
    "version": version,
    "step-overhead": step_overhead,
    "config-load": config_load,
    "sleep-5000": sleeps,
    "pipelines-1000": many_pipelines,
    "csv-1m": csv_rows,
    "arrow-10m": arrow_parquet,
    "plugins-53": many_plugins,
    "dag-1000": dag_pipelines,
    "process-cpu": process_cpu,
    "state-overhead": state_overhead,
    "resume-10k": resume_time,
    "history-100k": history_100k,
}
