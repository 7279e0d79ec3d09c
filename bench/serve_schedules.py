"""``orchestrator serve`` with 1,000 schedules: start-up, tick-to-first-step delay, idle footprint.

    .venv/bin/python -m bench.serve_schedules [--files 1000] [--seconds 30]

Writes ``--files`` pipeline files, each with one yearly cron schedule (loaded, never due), plus one
probe file whose schedule fires every 2 s; the probe's extract step records when it started. Then
runs the real server as a subprocess and reports: the time from process start to "serving on"
(loading every file), the delay from each probe tick's logical time to its first step starting
(median and p99), and the server's CPU use and RSS over the stretch after the first pass over
the schedules (``--probe-every 1h``: idle). Not part of ``python -m bench``'s table yet: a figure needs minutes of wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

PIPELINE = """\
pipelines:
  p{index}:
    type: ETL
    schedule: {{cron: "0 0 1 1 *", timezone: Europe/Berlin}}
    phases:
      extract:
        steps:
          - plugin: python.call
            args: {{callable: "probe:row", kwargs: {{at: "${{schedule.logical_time}}"}}}}
      load:
        steps:
          - plugin: jsonl.write
            args: {{path: out/p{index}.jsonl}}
"""
PROBE = """\
import json, time

def row(at):
    with open("out/delays.jsonl", "a") as handle:
        handle.write(json.dumps({"at": at, "started": time.time()}) + "\\n")
    return [{"at": at}]
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--probe-every", default="2s", help="the probe's period; 1h measures the idle server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        (folder / "out").mkdir()
        (folder / "probe.py").write_text(PROBE)
        for index in range(args.files):
            (folder / f"p{index:04d}.yaml").write_text(PIPELINE.format(index=index))
        (folder / "probe.yaml").write_text(PIPELINE.format(index="probe").replace('cron: "0 0 1 1 *", timezone: Europe/Berlin', f"every: {args.probe_every}"))
        log = folder / "serve.log"
        orchestrator = Path(sys.executable).parent / "orchestrator"
        begun = time.monotonic()
        with log.open("w") as handle:
            server = subprocess.Popen([str(orchestrator), "serve", str(folder), "--port", "0"], cwd=folder, stdout=handle, stderr=subprocess.STDOUT)
            while "serving on" not in log.read_text():
                if server.poll() is not None:
                    raise SystemExit(log.read_text())
                time.sleep(0.05)
            startup = time.monotonic() - begun
            process = psutil.Process(server.pid)
            time.sleep(5)  # the first pass over every schedule (each one's first sight recorded) is start-up work
            process.cpu_percent()
            time.sleep(args.seconds)
            cpu = process.cpu_percent() / 100
            rss = process.memory_info().rss / 2**20
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
        probes = folder / "out" / "delays.jsonl"
        delays = [
            record["started"] - datetime.fromisoformat(record["at"]).timestamp()
            for record in map(json.loads, probes.read_text().splitlines() if probes.exists() else [])
        ] or [float("nan")]
        loaded = len(re.findall(r": loaded \(1 schedules", log.read_text()))
    delays.sort()
    print(json.dumps({
        "schedules": loaded, "startup_s": round(startup, 2), "ticks": len(delays),
        "delay_median_s": round(statistics.median(delays), 3), "delay_p99_s": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 3),
        "cpu_cores": round(cpu, 3), "rss_mib": round(rss, 1), "cpu_count": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
