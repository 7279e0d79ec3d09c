"""Cold-start peer: the cold-start workload as a Luigi task graph, run as a Luigi user runs it.

An ``Extract`` task returns the same two rows as bench/steps/trivial_steps.py and a ``Load`` task
that requires it counts them; Luigi hands data from task to task through targets, so each task
writes a small JSON file (a fresh temporary folder per run, so neither task is already complete).
``luigi.build(..., local_scheduler=True)``: no scheduler daemon, Luigi's own logging defaults.

Usage: python luigi_cold_start.py
"""

from __future__ import annotations

import json
import sys
import tempfile

import luigi  # type: ignore[import-not-found, unused-ignore]


class Extract(luigi.Task):  # type: ignore[misc, unused-ignore]
    folder = luigi.Parameter()

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(f"{self.folder}/extract.json")

    def run(self) -> None:
        with self.output().open("w") as handle:
            json.dump([{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}], handle)


class Load(luigi.Task):  # type: ignore[misc, unused-ignore]
    folder = luigi.Parameter()

    def requires(self) -> Extract:
        return Extract(folder=self.folder)

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(f"{self.folder}/load.done")

    def run(self) -> None:
        with self.input().open("r") as handle:
            rows = json.load(handle)
        with self.output().open("w") as handle:
            handle.write(str(len(rows)))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        ok = luigi.build([Load(folder=folder)], local_scheduler=True)
    sys.exit(0 if ok else 1)
