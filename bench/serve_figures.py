"""15: the web API of ``orchestrator serve`` over a long history and a wide run, each figure beside
the same request on a small history.

- Runs, 100,000 in the history: the first page of ``GET /api/runs`` (50 runs), a page from the
  middle of the history (``?before=`` the cursor of run 50,000: keyset pagination), the failed
  runs only (``?status=failed``, 1% of them), and ``GET /api/pipelines`` (the last 25 runs of the
  pipeline); baseline: the same request on an empty history. Target: 200 ms.
- A run of 1,000 pipelines (each with three phases, three step attempts and three log lines):
  ``GET /api/runs/{run_id}`` (pipelines, phases, steps, DAG), and with ``?steps=0`` (what the UI
  reads of a big run first); baseline: a run of one pipeline.
  Target: 1 s.

The real server (the scheduler loop and uvicorn) runs in this process on 127.0.0.1; each figure is
the time from sending the request to having read the whole answer (httpx, keep-alive), so it is the
server's time plus a loopback round trip. The histories are written straight into the tables
(untimed), as :mod:`bench.history_growth` does.
"""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bench.history_growth import seed
from bench.measure import flatten, time_calls
from bench.report import Row, Target

if TYPE_CHECKING:
    from bench.harness import Bench

EARLIER = 100_000
WIDE = 1000


@contextmanager
def _serving(config: Path) -> Iterator[httpx.Client]:
    from orchestrator.plugins.discovery import load_plugins
    from orchestrator.serve.server import Server
    from orchestrator.serve.web import HttpServer

    server = Server([str(config)], load_plugins(env={"ORCHESTRATOR_LOAD_PLUGINS": "builtin"}), out=io.StringIO())
    http = HttpServer(server, "127.0.0.1", 0)
    ready = threading.Event()
    loop = threading.Thread(target=server.serve, args=(lambda: (http.start(), ready.set()),), daemon=True)
    loop.start()
    if not ready.wait(60):
        raise RuntimeError("the server did not start")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{http.port}", timeout=60) as client:
            yield client
    finally:
        server.stop()
        loop.join(60)
        http.stop()


def _get(client: httpx.Client, path: str) -> Callable[[], None]:
    def call() -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        response.json()

    return call


def _cursor(database: Path, index: int) -> str:
    with sqlite3.connect(database) as db:
        started, run_id = db.execute("SELECT started, run_id FROM runs WHERE run_id = ?", (f"seed-{index:07d}",)).fetchone()
    return f"{float(started)!r}~{run_id}"


def serve_api(bench: Bench) -> list[Row]:
    root = bench.workspace.root
    reps = bench.reps(20, 5)
    configs = {}
    for earlier in (0, EARLIER):
        folder = f"serve-api-{earlier}"
        configs[earlier] = bench.workspace.history_config(folder)
        seed(configs[earlier], root / folder / "state.db", earlier)
    middle = _cursor(root / f"serve-api-{EARLIER}" / "state.db", EARLIER // 2)
    requests = {
        "first page": ("/api/runs?limit=50", "/api/runs?limit=50"),
        "a page in the middle": (f"/api/runs?limit=50&before={middle}", "/api/runs?limit=50&before=1e12~x"),
        "failed runs": ("/api/runs?limit=50&status=failed", "/api/runs?limit=50&status=failed"),
        "pipelines, last 25 runs each": ("/api/pipelines", "/api/pipelines"),
    }
    rows: list[Row] = []
    with _serving(configs[EARLIER]) as big, _serving(configs[0]) as empty:
        for label, (ours, base) in requests.items():
            samples = time_calls({"100k": _get(big, ours), "empty": _get(empty, base)}, reps, warmup=2)
            note = (f"GET {ours} of the real server in this process (uvicorn on 127.0.0.1; request to whole answer read) "
                    f"with {EARLIER:,} runs of the file in its SQLite history, against the same request on an empty history.")
            rows.append(Row("15", f"API, {EARLIER:,} runs: {label}", "s", samples["100k"].median_seconds,
                            samples["empty"].median_seconds, "empty history", Target(0.2), note, flatten(samples)))
    rows += _wide_run(bench, reps)
    return rows


def _wide_run(bench: Bench, reps: int) -> list[Row]:
    folder = "serve-api-wide"
    config = bench.workspace.root / f"{folder}.yaml"
    config.write_text(_chain(WIDE, folder))
    database = bench.workspace.root / folder / "state.db"
    seed(config, database, 0)
    _seed_run(config, database, "wide", WIDE)
    _seed_run(config, database, "narrow", 1)
    rows = []
    with _serving(config) as client:
        for label, query, what in (
            ("", "", "pipelines, phases, steps and DAG"),
            (", without steps", "?steps=0", "the run, its pipelines and the DAG, what the UI reads of a big run first"),
        ):
            samples = time_calls({"wide": _get(client, f"/api/runs/wide{query}"), "narrow": _get(client, f"/api/runs/narrow{query}")},
                                 reps, warmup=2)
            note = (f"GET /api/runs/RUN_ID{query} ({what}) of a run of {WIDE:,} pipelines of a served file whose pipelines form a "
                    "chain (each with three phases, three step attempts and three log lines recorded) against a run of one of them, "
                    "same server, same history.")
            rows.append(Row("15", f"API, one run of {WIDE:,} pipelines{label}", "s", samples["wide"].median_seconds,
                            samples["narrow"].median_seconds, "a run of 1 pipeline", Target(1.0), note, flatten(samples)))
    return rows


def _chain(pipelines: int, folder: str) -> str:
    """A file of ``pipelines`` pipelines, each depending on the one before."""
    lines = [f"state: 'sqlite:///{folder}/state.db'", "pipelines:"]
    for index in range(pipelines):
        lines += [f"  p{index:04d}:", "    type: ETL"]
        if index:
            lines.append(f"    depends_on: [p{index - 1:04d}]")
        lines += ["    phases:",
                  "      extract: {steps: [{id: extract_step, plugin: python.call, args: {callable: 'trivial_steps:extract'}}]}",
                  "      load: {steps: [{id: load_step, plugin: python.call, args: {callable: 'trivial_steps:load'}}]}"]
    return "\n".join(lines) + "\n"


def _seed_run(config: Path, database: Path, run_id: str, pipelines: int) -> None:
    began = time.time() - 3600
    source = str(config.resolve())
    pipeline_rows, phases, steps, logs = [], [], [], []
    for index in range(pipelines):
        name = f"p{index:04d}"
        pipeline_rows.append((run_id, name, "succeeded", began + index, began + index + 1, 1.0))
        for offset, phase in enumerate(("extract", "transform", "load")):
            at = began + index + offset * 0.3
            phases.append((run_id, name, phase, "succeeded", at, at + 0.2, 0.2))
            steps.append((run_id, name, phase, f"{phase}_step", "python.call", 1, "succeeded", at, at + 0.2, 0.2, 100))
            logs.append((run_id, len(logs) + 1, name, f"{phase}_step", 1, at + 0.1, "info", f"{phase} of {name}: 100 rows"))
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO runs (run_id, config, config_hash, params, status, started, finished, elapsed, host, pid, config_text) "
                   "VALUES (?, ?, 'seeded', '{}', 'succeeded', ?, ?, ?, 'bench', 1, ?)",
                   (run_id, source, began, began + pipelines + 1, pipelines + 1.0, config.read_text()))
        db.executemany("INSERT INTO pipeline_runs (run_id, pipeline, status, started, finished, elapsed) VALUES (?, ?, ?, ?, ?, ?)", pipeline_rows)
        db.executemany("INSERT INTO phase_runs (run_id, pipeline, phase, status, started, finished, elapsed) VALUES (?, ?, ?, ?, ?, ?, ?)", phases)
        db.executemany("INSERT INTO step_attempts (run_id, pipeline, phase, step, plugin, attempt, status, started, finished, elapsed, rows) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", steps)
        db.executemany("INSERT INTO step_logs (run_id, seq, pipeline, step, attempt, time, level, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", logs)
