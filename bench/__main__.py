"""``python -m bench [--only NAME ...] [--quick]``: measure, print the table, save JSON.

Missed targets do not change the exit status (the benchmarks inform, they do not gate); a figure
that could not be measured at all (a command failed) does, with exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from bench.environment import BENCH_DIR, SetupError, ensure_plugin
from bench.figures import FIGURES
from bench.harness import FOOTNOTES, Bench
from bench.report import render_table, write_json
from bench.workspace import DEFAULT_ROOT, Workspace

DEFAULT_OUTPUT = BENCH_DIR / "results" / "latest.json"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=list(FIGURES),
        metavar="NAME",
        help=f"run only this figure (repeatable): {', '.join(FIGURES)}",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a rough look, not a record)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_ROOT, help=f"generated inputs (default {DEFAULT_ROOT})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON results go")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    try:
        ensure_plugin(argv)
        bench = Bench(Workspace(args.workdir), quick=args.quick)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    selected = args.only or list(FIGURES)
    started, load_at_start = time.perf_counter(), os.getloadavg()
    rows, failed = [], []
    for name in FIGURES:
        if name not in selected:
            continue
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            rows.extend(FIGURES[name](bench))
        except Exception:  # noqa: BLE001 - a figure that breaks is reported, and the others still run
            failed.append(name)
            traceback.print_exc()
        print(f"  {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    print(render_table(rows, FOOTNOTES))
    print(f"\n{len(rows)} rows in {elapsed:.0f} s; results in {args.output}")
    print(load_report(load_at_start, os.getloadavg()))
    if failed:
        print(f"FAILED to measure: {', '.join(failed)}")
    skipped = [name for name in FIGURES if name not in selected]
    write_json(args.output, rows, quick=args.quick, elapsed=elapsed, skipped=skipped, failed=failed, load_at_start=load_at_start)
    return 1 if failed else 0


def load_report(start: Sequence[float], end: Sequence[float]) -> str:
    """The machine's load around the run: figures taken while other work competed for the CPUs
    are pessimistic, and the reader should know."""
    cpus = os.cpu_count() or 1
    text = f"1-min load average {start[0]:.2f} at start, {end[0]:.2f} at end, on {cpus} CPUs"
    if max(start[0], end[0]) > cpus / 2:
        text += " - other work competed for the CPUs, so these figures are pessimistic"
    return text


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
