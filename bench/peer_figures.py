"""The whole-run figures the issue compares with peer projects: cold start (Luigi), 1,000 trivial
pipelines and 5,000 concurrent sleeps (pipeline-flow, a plain anyio script), the 1M-row CSV job
(the csv module, Dask, Kedro) and CSV -> SQLite (Luigi, pipeline-flow, a plain sqlite3 script).

Every baseline, a peer included, is measured in the same run, interleaved round by round with ours.
A peer that cannot be installed here gets a row saying why instead of a number; for pipeline-flow,
the figures measured on this kind of machine (DESIGN.md §6) are then shown as a cited reference.
"""

from __future__ import annotations

import filecmp
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.environment import CONFIG_SCHEMA
from bench.harness import OURS, OURS_NO_CACHE, Bench, time_rows
from bench.measure import Command, Samples, flatten, run_processes
from bench.peers import KEDRO, LUIGI, PIPELINE_FLOW, Peer, PeerUnavailable
from bench.report import Row, Target
from bench.workspace import loaded_rows

#: pipeline-flow 1.0.8's figures on this kind of machine, from the design document, shown only
#: when it cannot be measured in the run (workload name: seconds).
PIPELINE_FLOW_CITED = {"pipelines-1000": 0.52, "sleep-5000": 0.63}
CITATION = "DESIGN.md §6"


#: Where the time goes, for the figures that miss a target: what profiling showed (this machine,
#: 2 shared cores, December 2026), appended to the figure's note when one of its rows misses.
WHY = {
    "cold-start": (
        "Why it misses (python -X importtime of the run, and whole-process medians of single imports interleaved with "
        "`python -c pass`, 2 shared cores, load ~1.7): imports are most of the run, and most of them are the event "
        "loop's: `import anyio, asyncio, anyio._backends._asyncio` alone takes ~88 ms over a bare interpreter (asyncio "
        "with ssl, socket and subprocess; anyio's asyncio backend and its socket layer), click ~37 ms, pluggy with "
        "inspect ~24 ms, yaml ~23 ms. anyio.from_thread and anyio.to_thread add 1.5 ms on top of anyio's backend "
        "(they share its modules), so importing them lazily would save nothing. What the run imports beyond "
        "anyio/asyncio/click/pluggy/sqlite3/logging is ~40% of the import time (importtime: yaml ~10 ms, which five "
        "config modules import at module level although a warm start reads the parsed document from the cache, and "
        "whose version is part of the cache key; hashlib ~4 ms; pickle, random ~2 ms each; the core's own modules "
        "~25 ms). The run itself (history store: 2 fdatasync) is small. Reaching 0.15 s needs the run without "
        "asyncio's import or without click, not lazier engine imports."
    ),
    "sleep-5000": (
        "Why it misses the anyio target (cProfile of the run, 2.3 s profiled): the cyclic garbage collector was the "
        "largest single cost (asyncio's Handle.__init__ showed 0.25 s for 20,000 handles: the allocations that "
        "trigger full collections over every live object); a run now freezes what existed before it "
        "(engine/collector.py), interleaved A/B 814 -> 689 ms at load ~2 (gc off entirely: 644 ms). What remains "
        "is per step: a task per concurrent step spawned through an anyio task group (~0.35 s profiled for 5,002 "
        "tasks: concurrency 5000 means 5,000 workers), the step's start and finish records (~0.25 s each), and "
        "10,010 events through the history store (~0.18 s) and the plain reporter (~0.16 s)."
    ),
    "pipelines-1000": (
        "Why it misses (timed in process at load ~1, each part switched off in turn): of the ~0.5 s, imports take "
        "~0.16-0.2 s and plugin discovery with the plan (cache warm) ~0.08 s; the run itself ~0.27 s: the engine "
        "~0.10 s (a task, a context per step, two step calls and ten events per pipeline), the history ~0.12 s "
        "(recording the 10,002 events ~45 ms of CPU with its commits; each extract's output kept as a checkpoint "
        "record ~20 ms, one write each; closing the SQLite file, which checkpoints its WAL, ~20 ms), the plain "
        "reporter ~15 ms. Cut so far: a history row that starts and ends within one batch is written as one "
        "statement (10,890 -> 5,013 statements a run; recording 61 -> 45 ms of CPU), the reporter formats start and "
        "end lines first (23 -> 15 ms), a step function's kind is decided once, a run's folder path is kept "
        "(checkpoint bookkeeping 31 -> 20 ms); interleaved A/B of this figure, 20 samples a side at load ~1-1.5: "
        "0.547 -> 0.514 s (pipeline-flow 0.53 s, anyio script 0.11 s). Tried and not kept: committing full history "
        "batches on the background thread rather than the event loop (slower: the two threads contend for the "
        "GIL), a larger young-generation threshold of the garbage collector during a run (no measurable change), "
        "collecting the reporter's lines and writing them once per flush (558 vs 534 ms, within noise). Freezing "
        "the start-up objects for the garbage collector (engine/collector.py) helps here: interleaved A/B 1,332 -> "
        "1,062 ms at load ~5."
    ),
    "csv-1m": (
        "Why it misses (py-spy of the run, 200 Hz, samples of busy threads): csv.write 15%, csv.read 14% (parsing, "
        "and a dict per row), the load thread fetching each batch from the event loop (StreamFeed -> "
        "anyio.from_thread, ~13%), keeping the stream as a checkpoint 7% (marshal of the row dicts and the write), "
        "imports 5%, the transform itself 2%; the rest is threads and the loop waiting for each other. The checkpoint "
        "is now written in the transform's own worker-thread hand-off (one hand-off per batch fewer), but with it on "
        "the run still costs 0.3-0.7 s more than with 'checkpoint: false' (0.68 s before; 0.56, 0.33 and 0.68 s in "
        "three runs after, at load 2-4): the saved hand-off is within the noise, and what remains is CPU work under "
        "the GIL (marshal of 1M row dicts ~0.23 s measured alone, then the write) that no hand-off can hide. Dask parses on a process pool of 2 workers; row dicts cost 2-3x the list rows of "
        "the fastest script."
    ),
    "csv-sqlite": (
        "Where the time goes (py-spy): before this figure existed, sqlite.write committed every 5,000-row batch (a "
        "third of the load, each commit writing and syncing a journal) and built parameter tuples in a Python loop; it "
        "now commits up to 20,000 rows a transaction and builds tuples with itemgetter. What remains: executemany, "
        "csv.read's parsing and dicts, the extract stream's checkpoint, and thread hand-offs. pipeline-flow and the "
        "plain script insert in one transaction with no checkpoint; pipeline-flow holds the whole file in memory."
    ),
}


def explain(figure: str, rows: list[Row]) -> list[Row]:
    """Append to the figure's first note where the time goes, when one of its rows misses."""
    if any(row.verdict == "MISS" for row in rows) and figure in WHY:
        rows[0].note = f"{rows[0].note} {WHY[figure]}".strip()
    return rows


@dataclass(frozen=True, slots=True)
class Side:
    """A baseline of a figure: measured (``command``), or not, and then ``reason`` says why."""

    label: str
    command: Command | None
    reason: str = ""


def peer_side(bench: Bench, peer: Peer, script: str, *args: str | Path, prepare: Callable[[], None] | None = None) -> Side:
    """A peer's baseline, or the reason it cannot be measured here."""
    try:
        command = bench.peer(peer, script, *args)
    except PeerUnavailable as exc:
        return Side(peer.label, None, str(exc))
    return Side(peer.label, replace(command, prepare=prepare))


def measure(bench: Bench, ours: dict[str, Command], sides: list[Side], full: int, quick: int, warmup: int = 1) -> dict[str, Samples]:
    """Ours and every measurable baseline, round-robin."""
    commands = ours | {side.label: side.command for side in sides if side.command is not None}
    return run_processes(commands, bench.reps(full, quick), warmup=warmup)


def versus(
    figure: str, label: str, ours: float, side: Side, samples: dict[str, Samples], target: Target | None, *, cited: float | None = None
) -> Row:
    """A time row of ours against one baseline: measured, cited, or saying why neither."""
    if side.command is not None:
        return Row(figure, f"{label} vs {side.label}", "s", ours, samples[side.label].median_seconds, side.label, target)
    if cited is not None:
        return Row(figure, f"{label} vs {side.label}", "s", ours, cited, side.label, target, cited=CITATION,
                   note=f"{side.label} not measured in this run: {side.reason}. Its figure is cited from {CITATION}.")
    return Row(figure, f"{label} vs {side.label}", "s", ours, None, f"{side.label} (see note)", target,
               note=f"{side.label} not measured in this run: {side.reason}.")


# -- 1: cold start ------------------------------------------------------------------------------


def cold_start(bench: Bench) -> list[Row]:
    config = bench.workspace.cold_start_config()
    luigi = peer_side(bench, LUIGI, "luigi_cold_start.py")
    plain = {"plain script": bench.baseline("cold_start.py", config, CONFIG_SCHEMA), "python -c pass": bench.bare_python()}
    samples = measure(bench, bench.runs(config) | plain, [luigi], 15, 5)
    note = (
        "`orchestrator run` of a one-pipeline config (python.call extract -> python.call load of two rows, "
        "async functions), history recorded; baselines: bench/baselines/cold_start.py (imports click, pluggy, yaml, "
        "jsonschema, anyio, loads + schema-validates the same file, runs the same two functions), "
        "bench/baselines/luigi_cold_start.py (the same two steps as a Luigi task graph, Extract -> Load passing the "
        "rows through a JSON target, luigi.build with the local scheduler, Luigi's default logging) and `python -c pass`. "
        "Targets (issue 9): <= 0.15 s and <= Luigi's."
    )
    ours, off, script, bare = (samples[k] for k in (OURS, OURS_NO_CACHE, "plain script", "python -c pass"))
    rows = [
        *time_rows("1", "cold start: time", samples, "plain script", Target(0.15), note),
        versus("1", "cold start: time", ours.median_seconds, luigi, samples, Target(1.0, "ratio")),
        Row("1", "cold start: time vs bare python", "s", ours.median_seconds, bare.median_seconds, "python -c pass"),
        Row("1", "cold start: peak RSS", "MiB", ours.median_rss_mib, script.median_rss_mib, "plain script", Target(40)),
        Row("1", "cold start: peak RSS, cache off", "MiB", off.median_rss_mib, script.median_rss_mib, "plain script", Target(40)),
        Row("1", "cold start: peak RSS vs bare python", "MiB", ours.median_rss_mib, bare.median_rss_mib, "python -c pass"),
    ]
    if luigi.command is not None:
        rows.append(Row("1", f"cold start: peak RSS vs {luigi.label}", "MiB", ours.median_rss_mib,
                        samples[luigi.label].median_rss_mib, luigi.label))
    return explain("cold-start", rows)


# -- 5, 6: many steps, many pipelines -------------------------------------------------------------


def sleeps(bench: Bench) -> list[Row]:
    tasks, seconds = 5000, 0.1
    config = bench.workspace.extracts_config(tasks, "bench.sleep", f"{{seconds: {seconds}}}")
    extracts = [f"{{id: e{i}, plugin: bench_sleep, args: {{seconds: {seconds}}}}}" for i in range(tasks)]
    flow = bench.workspace.pipeline_flow_config("sleeps", {"fan_in": (extracts, ["{id: sink, plugin: bench_discard_load}"])})
    pipeline_flow = peer_side(bench, PIPELINE_FLOW, "pipeline_flow_run.py", flow)
    samples = measure(bench, bench.runs(config) | {"anyio script": bench.baseline("sleep_tasks.py", str(tasks), str(seconds))},
                      [pipeline_flow], 5, 3)
    note = (
        "`orchestrator run` of one pipeline with 5,000 bench.sleep extract steps (await 0.1 s each, concurrency 5000) "
        "and a no-op load, plain output to /dev/null, history recorded; baselines: bench/baselines/sleep_tasks.py, "
        "5,000 anyio tasks sleeping 0.1 s, and pipeline-flow (bench/baselines/pipeline_flow_run.py on a generated YAML: "
        "one ETL pipeline of 5,000 sleeping custom extract plugins, the merge step it requires, a no-op load; logging at "
        "WARNING). Targets (issue 9): <= 1.5x the anyio script, faster than pipeline-flow."
    )
    label = "5000 × 0.1 s async extracts"  # noqa: RUF001 - the multiplication sign is meant
    ours = samples[OURS].median_seconds
    return explain("sleep-5000", [
        *time_rows("5", label, samples, "anyio script", Target(1.5, "ratio"), note),
        versus("5", label, ours, pipeline_flow, samples, Target(1.0, "ratio"), cited=_cited_if_missing(pipeline_flow, "sleep-5000")),
    ])


def many_pipelines(bench: Bench) -> list[Row]:
    count = 1000
    config = bench.workspace.many_pipelines_config(count)
    trivial = (["{id: extract, plugin: bench_trivial_extract}"], ["{id: load, plugin: bench_discard_load}"])
    flow = bench.workspace.pipeline_flow_config("pipelines", {f"p{i}": trivial for i in range(count)})
    pipeline_flow = peer_side(bench, PIPELINE_FLOW, "pipeline_flow_run.py", flow)
    anyio_script = bench.baseline("trivial_pipelines.py", bench.workspace.root, str(count))
    samples = measure(bench, bench.runs(config) | {"anyio script": anyio_script}, [pipeline_flow], 5, 3)
    note = (
        "`orchestrator run` of 1,000 independent pipelines, each python.call extract -> python.call load of the async "
        "functions in bench/steps/trivial_steps.py, plain output to /dev/null, history recorded (the default); baselines: "
        "bench/baselines/trivial_pipelines.py, 1,000 anyio tasks awaiting the same extract -> load, and pipeline-flow "
        "(1,000 ETL pipelines of a custom extract returning the same two rows and a no-op load, default concurrency, "
        "logging at WARNING). Targets (issue 9): <= 0.25 s and <= 0.5x pipeline-flow."
    )
    label = "1000 trivial pipelines"
    ours = samples[OURS].median_seconds
    return explain("pipelines-1000", [
        *time_rows("6", label, samples, "anyio script", Target(0.25), note),
        versus("6", label, ours, pipeline_flow, samples, Target(0.5, "ratio"), cited=_cited_if_missing(pipeline_flow, "pipelines-1000")),
    ])


def _cited_if_missing(side: Side, figure: str) -> float | None:
    """pipeline-flow's figure from the design document, for a row whose peer was not measured."""
    return PIPELINE_FLOW_CITED.get(figure) if side.command is None and side.label == PIPELINE_FLOW.label else None


# -- 7: 1M-row CSV --------------------------------------------------------------------------------


def csv_rows(bench: Bench) -> list[Row]:
    rows = 1_000_000
    source = bench.workspace.csv_input(rows)
    out = bench.workspace.root / "out"
    outputs = {
        OURS: out / "rows_orchestrator.csv",
        "checkpoint: false": out / "rows_no_checkpoint.csv",
        "csv module": out / "rows_dicts.csv",
        "csv lists": out / "rows_lists.csv",
        "Dask": out / "rows_dask.csv",
        KEDRO.label: out / "rows_kedro.csv",
    }
    config = bench.workspace.csv_config(source, outputs[OURS])
    ours = {
        OURS: bench.run(config),
        "checkpoint: false": bench.run(bench.workspace.csv_config(source, outputs["checkpoint: false"], checkpoint=False)),
        "csv module": bench.baseline("csv_rows.py", source, outputs["csv module"], "dicts"),
        "csv lists": bench.baseline("csv_rows.py", source, outputs["csv lists"], "lists"),
    }
    dask = Side("Dask", bench.baseline("dask_csv.py", source, outputs["Dask"]))
    kedro = peer_side(bench, KEDRO, "kedro_csv.py", source, outputs[KEDRO.label])
    samples = measure(bench, ours, [dask, kedro], 3, 1, warmup=0 if bench.quick else 1)
    written = [path for name, path in outputs.items() if name in samples]
    same = all(filecmp.cmp(written[0], other, shallow=False) for other in written[1:])
    mine, dicts = samples[OURS], samples["csv module"]
    measured = {name: samples[name].median_seconds for name in ("csv module", "Dask", KEDRO.label) if name in samples}
    best = min(measured, key=measured.__getitem__)
    note = (
        "`orchestrator run`: csv.read (batches of 5,000 row dicts) -> python.call bench/steps/csv_steps.py:add_column "
        "(sync, in a worker thread) -> csv.write, 1,000,000 rows x 5 columns, keeping the stream as a checkpoint for "
        "--resume (the default), history recorded. Baselines: bench/baselines/csv_rows.py dicts (csv.DictReader -> same "
        "column -> csv.DictWriter row by row) and lists (csv.reader/csv.writer on lists, the fastest plain script); "
        "bench/baselines/dask_csv.py (dask.bag: blocks of lines parsed per partition with the csv module on its default "
        "process pool, one worker per CPU, parts joined into one file); bench/baselines/kedro_csv.py (a Kedro node "
        "between two csv-module datasets, SequentialRunner; whole file in memory). Targets (issue 9): <= 1.05x the best "
        f"of csv module, Dask and Kedro (here: {best}), <= 120 MiB. All outputs byte-identical: {'yes' if same else 'NO'}."
    )
    result = [
        Row("7", f"1M-row CSV: time vs the best baseline ({best})", "s", mine.median_seconds, measured[best], best,
            Target(1.05, "ratio"), note, flatten(samples)),
        Row("7", "1M-row CSV: time vs csv module", "s", mine.median_seconds, dicts.median_seconds, "csv module"),
        Row("7", "1M-row CSV: time vs list rows", "s", mine.median_seconds, samples["csv lists"].median_seconds, "csv lists"),
        versus("7", "1M-row CSV: time", mine.median_seconds, dask, samples, None),
        versus("7", "1M-row CSV: time", mine.median_seconds, kedro, samples, None),
        Row("7", "1M-row CSV, checkpoint: false: time", "s", samples["checkpoint: false"].median_seconds,
            dicts.median_seconds, "csv module", None,
            "As above with `checkpoint: false` on the pipeline: no copy of the stream kept for --resume."),
        Row("7", "1M-row CSV: peak RSS", "MiB", mine.median_rss_mib, dicts.median_rss_mib, "csv module", Target(120)),
    ]
    for name in ("Dask", KEDRO.label):
        if name in samples:
            result.append(Row("7", f"1M-row CSV: peak RSS vs {name}", "MiB", mine.median_rss_mib, samples[name].median_rss_mib, name))
    return explain("csv-1m", result)


# -- 14: CSV -> SQLite ----------------------------------------------------------------------------


def csv_to_sqlite(bench: Bench) -> list[Row]:
    """1M-row CSV into a SQLite table: ours against Luigi, pipeline-flow and the plain script, each
    writing a database file of its own that is deleted before every sample (untimed)."""
    rows = 1_000_000
    source = bench.workspace.csv_input(rows)
    out = bench.workspace.root / "out"
    names = (OURS, "sqlite3 script", LUIGI.label, PIPELINE_FLOW.label)
    databases = {name: out / f"rows_{index}.sqlite" for index, name in enumerate(names)}

    def fresh(name: str) -> Callable[[], None]:
        def remove() -> None:
            for path in databases[name].parent.glob(databases[name].name + "*"):
                path.unlink()

        return remove

    run = bench.run(bench.workspace.csv_sqlite_config(source, databases[OURS]))
    ours = {
        OURS: replace(run, prepare=fresh(OURS)),
        "sqlite3 script": replace(bench.baseline("sqlite_rows.py", source, databases["sqlite3 script"]), prepare=fresh("sqlite3 script")),
    }
    luigi = peer_side(bench, LUIGI, "luigi_csv_sqlite.py", source, databases[LUIGI.label], prepare=fresh(LUIGI.label))
    load = f"{{id: write, plugin: bench_sqlite_write, args: {{database: '{databases[PIPELINE_FLOW.label]}', table: rows}}}}"
    flow = bench.workspace.pipeline_flow_config("sqlite", {"to_sqlite": ([f"{{id: read, plugin: bench_csv_read, args: {{path: '{source}'}}}}"], [load])})
    pipeline_flow = peer_side(bench, PIPELINE_FLOW, "pipeline_flow_run.py", flow, prepare=fresh(PIPELINE_FLOW.label))
    samples = measure(bench, ours, [luigi, pipeline_flow], 3, 1, warmup=0 if bench.quick else 1)
    counts = {name: loaded_rows(databases[name]) for name in names if name in samples}
    note = (
        "`orchestrator run`: csv.read (batches of 5,000 row dicts) -> sqlite.write into a new table `rows` of a fresh "
        "database file (batches committed together, up to 20,000 rows a transaction, each batch with its ledger row), "
        "1,000,000 rows x 5 columns as TEXT, history recorded; the extract stream kept as a checkpoint (the default). Baselines: bench/baselines/sqlite_rows.py (csv.reader straight into executemany, one transaction); "
        "bench/baselines/luigi_csv_sqlite.py (luigi.contrib.sqla.CopyToTable over SQLAlchemy 1.4, which Luigi's sqla "
        "module needs: one transaction, chunks of 5,000 rows, the CSV as an ExternalTask); pipeline-flow (custom plugins: "
        "the whole CSV read into row dicts, then executemany in one transaction, both in a thread). Every database file is "
        f"deleted before each sample (untimed). Rows in each table: {counts}. Target (issue 9): <= Luigi's time."
    )
    mine = samples[OURS]
    result = [
        versus("14", "1M-row CSV -> SQLite: time", mine.median_seconds, luigi, samples, Target(1.0, "ratio")),
        versus("14", "1M-row CSV -> SQLite: time", mine.median_seconds, pipeline_flow, samples, None),
        Row("14", "1M-row CSV -> SQLite: time vs sqlite3 script", "s", mine.median_seconds,
            samples["sqlite3 script"].median_seconds, "sqlite3 script"),
        Row("14", "1M-row CSV -> SQLite: peak RSS", "MiB", mine.median_rss_mib, samples["sqlite3 script"].median_rss_mib, "sqlite3 script"),
    ]
    for side in (luigi, pipeline_flow):
        if side.command is not None:
            result.append(Row("14", f"1M-row CSV -> SQLite: peak RSS vs {side.label}", "MiB", mine.median_rss_mib,
                              samples[side.label].median_rss_mib, side.label))
    result[0].note = note + (" " + result[0].note if result[0].note else "")
    result[0].samples = flatten(samples)
    return explain("csv-sqlite", result)


