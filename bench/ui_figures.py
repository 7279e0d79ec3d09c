"""16: the web UI draws a big run quickly. The page of one recorded run of 1,000 pipelines (ten
layers of 100, each pipeline depending on two of the layer before), from navigation to its DAG
drawn, in Debian's headless Chromium driven by Playwright, against the page of a run of 10
pipelines laid out the same way (the baseline).

Both runs are real ``orchestrator run`` runs of generated files (untimed set-up), served by one real
``orchestrator serve`` process. "Drawn" is the ``orchestrator:dag-drawn`` performance mark the
page sets on the frame after the DAG's SVG is in the document (``performance.getEntriesByName``),
in milliseconds from the navigation's start: the shell, its scripts, the API's answer for the run,
the dagre layout and the SVG together. Each repetition is a fresh page; the pages alternate.
"""

from __future__ import annotations

import re
import shutil
import signal
import statistics
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import Row, Target

if TYPE_CHECKING:
    from bench.harness import Bench

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
SIZES = (10, 1000)

STEPS = """\
def one():
    return [{"n": 1}]
"""


def layered(count: int) -> str:
    """``count`` pipelines in ten layers, each depending on two pipelines of the layer before."""
    width = max(1, count // 10)
    lines = ["pipelines:"]
    for index in range(count):
        layer, position = divmod(index, width)
        before = (layer - 1) * width
        upstream = sorted({before + position, before + (position + 1) % width}) if layer else []
        lines.append(f"  p{index:04d}:")
        lines.append("    type: ETL")
        if upstream:
            lines.append(f"    depends_on: [{', '.join(f'p{u:04d}' for u in upstream)}]")
        lines.append('    phases: {extract: {steps: [{plugin: python.call, args: {callable: "ui_steps:one"}}]}, '
                     f"load: {{steps: [{{plugin: jsonl.write, args: {{path: out/p{index:04d}.jsonl}}}}]}}}}")
    return "\n".join(lines) + "\n"


def ui_dag(bench: Bench) -> list[Row]:
    from playwright.sync_api import sync_playwright

    folder = bench.workspace.root / "ui-dag"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / ".orchestrator", ignore_errors=True)  # a fresh history: the runs below are the only ones
    (folder / "ui_steps.py").write_text(STEPS)
    for size in SIZES:
        config = folder / f"run{size}.yaml"
        config.write_text(layered(size))
        done = subprocess.run([bench.orchestrator, "run", str(config)], check=False, cwd=folder, env=bench.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"the {size}-pipeline run failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    log = folder / "serve.log"
    with log.open("w") as handle:
        server = subprocess.Popen([bench.orchestrator, "serve", str(folder), "--port", "0"], cwd=folder, env=bench.env,
                                  stdout=handle, stderr=subprocess.STDOUT)
    try:
        port = _port(log, server)
        runs = _runs(port)
        samples: dict[int, list[float]] = {size: [] for size in SIZES}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(viewport={"width": 1360, "height": 860})
            for round_ in range(bench.reps(7, 3) + 1):
                for size in SIZES:
                    drawn = _drawn(context, f"http://127.0.0.1:{port}/runs/{runs[size]}", size)
                    if round_:  # the first round warms the server's and the browser's caches
                        samples[size].append(drawn)
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    big, small = statistics.median(samples[1000]), statistics.median(samples[10])
    note = (
        "Time from navigation to the DAG drawn (the page's `orchestrator:dag-drawn` mark, on the frame after the SVG "
        "is in the document) for the page of a recorded run of 1,000 pipelines (ten layers of 100, two dependencies "
        "each), against the same for a run of 10 pipelines (baseline); headless Chromium (Debian's) via Playwright, "
        "one `orchestrator serve` process, a fresh page each time, pages alternating, the first round discarded."
    )
    return [
        Row("16", "web UI: a run of 1,000 pipelines, DAG drawn", "s", big, small, "a run of 10 pipelines", Target(1.0), note,
            {"1000 pipelines": samples[1000], "10 pipelines": samples[10]}),
    ]


def _port(log: Path, server: subprocess.Popen[Any]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"serving on http://127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return int(found.group(1))
        if server.poll() is not None:
            raise RuntimeError(log.read_text())
        time.sleep(0.05)
    raise RuntimeError(f"orchestrator serve did not start:\n{log.read_text()}")


def _runs(port: int) -> dict[int, str]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs?limit=10", timeout=30) as response:
        runs = json.loads(response.read())["runs"]
    return {size: next(r["run_id"] for r in runs if r["file"] == f"run{size}.yaml") for size in SIZES}


def _drawn(context: Any, url: str, size: int) -> float:
    page = context.new_page()
    try:
        page.goto(url)
        page.locator(f'svg.dag[data-nodes="{size}"]').wait_for(timeout=60_000)
        page.wait_for_function("() => performance.getEntriesByName('orchestrator:dag-drawn').length > 0", timeout=60_000)
        milliseconds = page.evaluate("() => performance.getEntriesByName('orchestrator:dag-drawn')[0].startTime")
        return float(milliseconds) / 1000
    finally:
        page.close()
