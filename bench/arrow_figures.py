"""8: a 10M-row CSV converted to Parquet by the arrow plugin, beside the plain pyarrow script doing the
same streaming conversion with the same settings; whole processes, outputs compared byte for byte.
"""

from __future__ import annotations

import filecmp

from bench.environment import ARROW_PLUGIN_ENV
from bench.harness import OURS, Bench
from bench.measure import Command, flatten, run_processes
from bench.report import Row, Target
from bench.workspace import arrow_csv_input


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
