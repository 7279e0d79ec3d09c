"""Generated inputs: pipeline configs, the step modules they call, the 1M-row CSV and the 10M-row
CSV of the Arrow figure.

Everything lives in a work directory outside the repository (a fixed folder under the system temp
dir by default), so nothing generated is ever committed. Configs are rewritten on every run (they
take milliseconds); the CSVs take seconds and are reused once complete.
"""

from __future__ import annotations

import csv
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

STEP_MODULES = Path(__file__).parent / "steps"
DEFAULT_ROOT = Path(tempfile.gettempdir()) / "orchestrator-bench"
CSV_COLUMNS = ("id", "name", "city", "quantity", "price")


class Workspace:
    """The work directory and the inputs figures need, created on demand."""

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "out").mkdir(exist_ok=True)
        for module in STEP_MODULES.glob("*.py"):
            shutil.copyfile(module, self.root / module.name)

    def _write(self, name: str, lines: Iterable[str]) -> Path:
        path = self.root / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    # -- configs -------------------------------------------------------------------------------

    def cold_start_config(self) -> Path:
        """The smallest real config: one pipeline, a python.call extract and a python.call load."""
        return self._write("cold_start.yaml", _pipeline("hello", "trivial_steps"))

    def history_config(self, name: str) -> Path:
        """The cold-start config, recording into a SQLite history of its own: ``<name>/state.db``."""
        return self._write(f"{name}.yaml", [f"state: 'sqlite:///{name}/state.db'", *_pipeline("hello", "trivial_steps")])

    def transforms_config(self, steps: int, *, ids: bool = True) -> Path:
        """One pipeline: a no-op extract, ``steps`` no-op sync transforms, a no-op load. Without
        ``ids`` the core names the transforms itself (``bench.noop``, ``bench.noop-2``, ...)."""
        step = "{{id: t{i}, plugin: bench.noop}}" if ids else "{{plugin: bench.noop}}"
        lines = [
            "pipelines:",
            "  chain:",
            "    type: ETL",
            "    phases:",
            "      extract:",
            "        steps:",
            "          - {id: source, plugin: bench.noop}",
            "      transform:",
            "        steps:",
            *("          - " + step.format(i=i) for i in range(steps)),
            "      load:",
            "        steps:",
            "          - {id: sink, plugin: bench.noop}",
        ]
        return self._write(f"transforms_{steps}{'' if ids else '_no_ids'}.yaml", lines)

    def state_config(self, steps: int, name: str, state: str) -> Path:
        """:meth:`transforms_config` recording into ``state`` (a ``state:`` URL, or ``off``)."""
        lines = self.transforms_config(steps).read_text(encoding="utf-8").splitlines()
        return self._write(f"state_{name}_{steps}.yaml", [f"state: '{state}'", *lines])

    def resume_config(self, pipelines: int, name: str) -> Path:
        """``pipelines`` independent pipelines of ten no-op steps each (an extract, eight sync
        transforms, a load), in a folder of their own (``name``) with its own state directory.
        The last pipeline's load is resume_steps.load, which fails while ``broken`` exists there."""
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        shutil.copyfile(STEP_MODULES / "resume_steps.py", folder / "resume_steps.py")
        transforms = ", ".join(f"{{id: t{i}, plugin: bench.noop}}" for i in range(8))
        lines = ["pipelines:"]
        for index in range(pipelines):
            load = (
                "{id: sink, plugin: python.call, args: {callable: 'resume_steps:load'}}"
                if index == pipelines - 1 else "{id: sink, plugin: bench.noop}"
            )
            lines += [
                f"  p{index}:",
                "    type: ETL",
                "    phases:",
                "      extract: {steps: [{id: source, plugin: bench.noop}]}",
                f"      transform: {{steps: [{transforms}]}}",
                f"      load: {{steps: [{load}]}}",
            ]
        path = folder / f"resume_{pipelines}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def extracts_config(self, steps: int, plugin: str, args: str = "{}") -> Path:
        """One pipeline: ``steps`` extract steps of ``plugin``, all allowed to run at once
        (``concurrency`` = steps), and a no-op load."""
        lines = [
            "pipelines:",
            "  fan_in:",
            "    type: ETL",
            f"    concurrency: {steps}",
            "    phases:",
            "      extract:",
            "        steps:",
            *(f"          - {{id: e{i}, plugin: {plugin}, args: {args}}}" for i in range(steps)),
            "      load:",
            "        steps:",
            "          - {id: sink, plugin: bench.noop}",
        ]
        return self._write(f"extracts_{plugin.replace('.', '_')}_{steps}.yaml", lines)

    def many_pipelines_config(self, pipelines: int) -> Path:
        """``pipelines`` independent pipelines, each a python.call extract and a python.call load."""
        lines = ["pipelines:"]
        for i in range(pipelines):
            lines.extend(_pipeline(f"p{i}", "trivial_steps")[1:])
        return self._write(f"pipelines_{pipelines}.yaml", lines)

    def dag_config(self, parents: dict[str, tuple[str, ...]], address: str | None = None) -> Path:
        """One trivial sync extract -> load pipeline per entry of ``parents`` (in topological order),
        each depending on its parents; on ``local``, or on the Dask scheduler at ``address``."""
        lines = [f"executor: {{name: dask, address: '{address}'}}"] if address else []
        lines.append("pipelines:")
        for name, deps in parents.items():
            pipeline = _pipeline(name, "dag_steps")[1:]
            if deps:
                pipeline.insert(2, f"    depends_on: [{', '.join(deps)}]")
            lines.extend(pipeline)
        return self._write(f"dag_{len(parents)}{'_dask' if address else ''}.yaml", lines)

    def cpu_config(self, pipelines: int, loops: int, workers: int) -> Path:
        """``pipelines`` independent pipelines, each burning ``loops`` iterations of pure-Python
        arithmetic in a sync transform, on the ``process`` executor with ``workers`` workers."""
        lines = [f"executor: {{name: process, workers: {workers}}}", "pipelines:"]
        for i in range(pipelines):
            lines += [
                f"  cpu{i}:",
                "    type: ETL",
                "    phases:",
                "      extract:",
                "        steps: [{id: extract, plugin: python.call, args: {callable: 'dag_steps:extract'}}]",
                "      transform:",
                f"        steps: [{{id: burn, plugin: python.call, args: {{callable: 'cpu_steps:burn', kwargs: {{loops: {loops}}}}}}}]",
                "      load:",
                "        steps: [{id: load, plugin: python.call, args: {callable: 'dag_steps:load'}}]",
            ]
        return self._write(f"cpu_{pipelines}_{workers}.yaml", lines)

    def csv_config(self, source: Path, output: Path, *, checkpoint: bool = True) -> Path:
        """csv.read -> python.call (add a column) -> csv.write; with or without checkpoints."""
        lines = [
            "pipelines:",
            "  rows:",
            "    type: ETL",
            *([] if checkpoint else ["    checkpoint: false"]),
            "    phases:",
            "      extract:",
            "        steps:",
            f"          - {{id: read, plugin: csv.read, args: {{path: '{source}'}}}}",
            "      transform:",
            "        steps:",
            "          - {id: add_column, plugin: python.call, args: {callable: 'csv_steps:add_column'}}",
            "      load:",
            "        steps:",
            f"          - {{id: write, plugin: csv.write, args: {{path: '{output}'}}}}",
        ]
        return self._write("csv_rows.yaml" if checkpoint else "csv_rows_no_checkpoint.yaml", lines)

    def csv_sqlite_config(self, source: Path, database: Path) -> Path:
        """csv.read -> sqlite.write into table ``rows`` (created by the load: a fresh database file)."""
        lines = [
            "pipelines:",
            "  to_sqlite:",
            "    type: ETL",
            "    phases:",
            "      extract:",
            "        steps:",
            f"          - {{id: read, plugin: csv.read, args: {{path: '{source}'}}}}",
            "      load:",
            "        steps:",
            f"          - {{id: write, plugin: sqlite.write, args: {{database: '{database}', table: rows}}}}",
        ]
        return self._write("csv_sqlite.yaml", lines)

    def pipeline_flow_config(self, name: str, pipelines: dict[str, tuple[list[str], list[str]]]) -> Path:
        """A pipeline-flow YAML file: for each pipeline, its extract steps and its load steps (flow
        mappings), an empty transform (its ETL strategy reads the phase even when it is optional),
        and a merge step when there are several extracts, as pipeline-flow requires. The steps are
        the custom plugins of bench/baselines/pipeline_flow_plugins.py; concurrency is left at its
        default."""
        plugins = STEP_MODULES.parent / "baselines" / "pipeline_flow_plugins.py"
        lines = ["plugins:", "  custom:", f"    files: ['{plugins}']", "pipelines:"]
        for pipeline, (extracts, loads) in pipelines.items():
            lines += [
                f"  {pipeline}:",
                "    type: ETL",
                "    phases:",
                "      extract:",
                "        steps:",
                *(f"          - {step}" for step in extracts),
                *(["        merge: {plugin: bench_merge}"] if len(extracts) > 1 else []),
                "      transform: {steps: []}",
                "      load:",
                "        steps:",
                *(f"          - {step}" for step in loads),
            ]
        return self._write(f"pipeline_flow_{name}.yaml", lines)

    def arrow_config(self, source: Path, output: Path) -> Path:
        """arrow.read_csv -> arrow.write_parquet: a CSV converted to Parquet as Arrow batches."""
        lines = [
            "pipelines:",
            "  to_parquet:",
            "    type: ETL",
            "    phases:",
            "      extract:",
            "        steps:",
            f"          - {{id: read, plugin: arrow.read_csv, args: {{path: '{source}'}}}}",
            "      load:",
            "        steps:",
            f"          - {{id: write, plugin: arrow.write_parquet, args: {{path: '{output}'}}}}",
        ]
        return self._write("arrow_csv_to_parquet.yaml", lines)

    # -- data ----------------------------------------------------------------------------------

    def csv_input(self, rows: int) -> Path:
        """A deterministic CSV of ``rows`` rows and five columns, written once and then reused.
        It is written under a temporary name and renamed, so a half-written file is never reused."""
        path = self.root / f"rows_{rows}.csv"
        if path.exists():
            return path
        partial = path.with_suffix(".partial")
        names = ("ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "ken")
        cities = ("Paris", "Lagos", "Lima", "Osaka", "Oslo", "Quito", "Perth", "Pune")
        pick = random.Random(42)
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            writer.writerows(
                (i, pick.choice(names), pick.choice(cities), pick.randint(1, 99), f"{pick.uniform(1, 500):.2f}")
                for i in range(rows)
            )
        partial.replace(path)
        return path


def _pipeline(name: str, module: str) -> list[str]:
    """A config with one trivial extract -> load pipeline (the first line is ``pipelines:``)."""
    return [
        "pipelines:",
        f"  {name}:",
        "    type: ETL",
        "    phases:",
        "      extract:",
        f"        steps: [{{id: extract, plugin: python.call, args: {{callable: '{module}:extract'}}}}]",
        "      load:",
        f"        steps: [{{id: load, plugin: python.call, args: {{callable: '{module}:load'}}}}]",
    ]


def arrow_csv_input(root: Path, rows: int, chunk: int = 1_000_000) -> Path:
    """A deterministic CSV of ``rows`` rows with the columns of :meth:`Workspace.csv_input`, made
    with pyarrow (columnar random values, Arrow's CSV writer): 10 million rows take seconds where
    the csv module would take a minute. Written once under a temporary name, then reused."""
    import pyarrow as pa  # only this figure needs pyarrow, installed with the arrow plugin
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = root / f"arrow_rows_{rows}.csv"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    names = pa.array(["ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "ken"])
    cities = pa.array(["Paris", "Lagos", "Lima", "Osaka", "Oslo", "Quito", "Perth", "Pune"])

    def uniform(n: int, seed: int, low: float, high: float) -> pa.Array:
        return pc.add(pc.multiply(pc.random(n, initializer=seed), high - low), low)

    def pick(values: pa.Array, n: int, seed: int) -> pa.Array:
        return pc.take(values, pc.cast(pc.floor(uniform(n, seed, 0, len(values))), pa.int32()))

    schema = pa.schema([(name, pa.int64() if name in ("id", "quantity") else pa.float64() if name == "price" else pa.string()) for name in CSV_COLUMNS])
    options = pacsv.WriteOptions(quoting_style="none")
    with pacsv.CSVWriter(str(partial), schema, write_options=options) as writer:
        for number, start in enumerate(range(0, rows, chunk)):
            n = min(chunk, rows - start)
            seed = 1000 * number
            table = pa.table(
                [
                    pa.array(range(start, start + n), pa.int64()),
                    pick(names, n, seed + 1),
                    pick(cities, n, seed + 2),
                    pc.cast(pc.floor(uniform(n, seed + 3, 1, 100)), pa.int64()),
                    pc.round(uniform(n, seed + 4, 1, 500), 2),
                ],
                schema=schema,
            )
            writer.write_table(table)
    partial.replace(path)
    return path


def loaded_rows(database: Path) -> int | None:
    """Rows in the table ``rows`` of a finished database (a check that every side loaded
    everything); None when there is no such table."""
    try:
        with closing(sqlite3.connect(database)) as connection:
            return int(connection.execute("SELECT count(*) FROM rows").fetchone()[0])
    except sqlite3.Error:
        return None
