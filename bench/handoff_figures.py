"""The figure of rows handed between pipelines: ``extract: {from: source}`` on ``local`` (streamed
live from the source's loads to the taker, and kept in the run's handoff file), beside what a user
wrote before it existed: the source writes a JSON Lines file, and the taker ``depends_on`` it and
reads the file back. Both load the same rows into a fresh SQLite table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench.harness import OURS, Bench
from bench.measure import flatten, run_processes
from bench.report import Row
from bench.workspace import loaded_rows

ROWS, SMALL_ROWS = 1_000_000, 100_000
BASELINE = "JSON Lines file + depends_on"
SMALL = f"{OURS}, {SMALL_ROWS // 1000}k rows"

_EXTRACT = "{{id: rows, plugin: python.call, args: {{callable: 'handoff_steps:rows', kwargs: {{count: {rows}}}}}}}"
_SQLITE = "{{id: write, plugin: sqlite.write, args: {{database: '{database}', table: rows}}}}"


def _from_config(root: Path, rows: int, database: Path) -> Path:
    """The source hands its rows over (its own load discards them); the taker loads them into SQLite."""
    path = root / f"handoff_from_{rows}.yaml"
    path.write_text(
        "pipelines:\n"
        "  source:\n    type: ETL\n    phases:\n"
        f"      extract: {{steps: [{_EXTRACT.format(rows=rows)}]}}\n"
        "      load: {steps: [{id: discard, plugin: python.call, args: {callable: 'handoff_steps:discard'}}]}\n"
        "  taker:\n    type: ETL\n    extract: {from: source}\n    phases:\n"
        f"      load: {{steps: [{_SQLITE.format(database=database)}]}}\n",
        encoding="utf-8",
    )
    return path


def _file_config(root: Path, rows: int, database: Path, between: Path) -> Path:
    """The same two pipelines with a JSON Lines file between them, as written without ``from:``."""
    path = root / f"handoff_jsonl_{rows}.yaml"
    path.write_text(
        "pipelines:\n"
        "  source:\n    type: ETL\n    phases:\n"
        f"      extract: {{steps: [{_EXTRACT.format(rows=rows)}]}}\n"
        f"      load: {{steps: [{{id: write, plugin: jsonl.write, args: {{path: '{between}'}}}}]}}\n"
        "  taker:\n    type: ETL\n    depends_on: [source]\n    phases:\n"
        f"      extract: {{steps: [{{id: read, plugin: jsonl.read, args: {{path: '{between}'}}}}]}}\n"
        f"      load: {{steps: [{_SQLITE.format(database=database)}]}}\n",
        encoding="utf-8",
    )
    return path


def handoff_rows(bench: Bench) -> list[Row]:
    out = bench.workspace.root / "out"
    databases = {name: out / f"handoff_{index}.sqlite" for index, name in enumerate((OURS, BASELINE, SMALL))}
    between = out / "handoff_rows.jsonl"

    def fresh(name: str) -> Callable[[], None]:
        """Delete the side's database (and the baseline's file between its pipelines) before each sample."""

        def remove() -> None:
            for path in [*out.glob(databases[name].name + "*"), *([between] if name == BASELINE else [])]:
                path.unlink(missing_ok=True)

        return remove

    root = bench.workspace.root
    configs = {
        OURS: _from_config(root, ROWS, databases[OURS]),
        BASELINE: _file_config(root, ROWS, databases[BASELINE], between),
        SMALL: _from_config(root, SMALL_ROWS, databases[SMALL]),
    }
    commands = {name: replace(bench.run(config), prepare=fresh(name)) for name, config in configs.items()}
    samples = run_processes(commands, bench.reps(3, 1), warmup=0 if bench.quick else 1)
    counts = {name: loaded_rows(databases[name]) for name in commands}
    expected = {OURS: ROWS, BASELINE: ROWS, SMALL: SMALL_ROWS}
    if counts != expected:
        raise RuntimeError(f"the handoff figure's tables hold {counts} rows, not {expected}")
    ours, base, small = samples[OURS], samples[BASELINE], samples[SMALL]
    note = (
        "`orchestrator run` on local, history on, one process: a source pipeline's python.call async-generator extract "
        "makes 1,000,000 rows {id, name} in batches of 5,000 (bench/steps/handoff_steps.py); a taker with "
        "`extract: {from: source}` loads them with sqlite.write into a fresh database file (the source's own load is a "
        "python.call that discards them). The rows stream live from the source's loads to the taker through its bounded "
        "buffer, so the two pipelines run at once (the taker starts when the source starts loading), and every batch is "
        "also written to the run's handoff file (typed frames, kept for a resume, removed when the run succeeds). "
        "Baseline, same run, the way it was written before `from:`: the source's load is jsonl.write to a file, and the "
        "taker `depends_on: [source]` and reads it with jsonl.read, then the same sqlite.write: one pipeline after the "
        "other. Both sides keep the extract stream as a checkpoint (the default). The database files and the JSON Lines "
        f"file are deleted before each sample (untimed); rows in each table: {counts}. No target: a measured figure. The "
        "last row is the design's claim that memory stays flat however many rows are handed over: ours at 1,000,000 rows "
        "against ours at 100,000."
    )
    return [
        Row("H1", "1M rows handed over -> SQLite: time", "s", ours.median_seconds, base.median_seconds, BASELINE, None, note, flatten(samples)),
        Row("H1", "1M rows handed over -> SQLite: peak RSS", "MiB", ours.median_rss_mib, base.median_rss_mib, BASELINE),
        Row("H1", "1M rows handed over: peak RSS vs 100k rows", "MiB", ours.median_rss_mib, small.median_rss_mib, "100k rows handed over"),
    ]


