"""How figures are measured: whole processes (wall time and peak RSS) and in-process calls.

Whole-process figures run real subprocesses, because start-up (interpreter, imports, plugin
discovery) is part of what a user waits for. Peak RSS comes from GNU time (``/usr/bin/time -f %M``),
which forks from its own small process: Linux carries a process's high-water RSS across ``exec``,
and Python's subprocess starts children with vfork/posix_spawn sharing the harness's memory, so
``os.wait4`` or ``getrusage(RUSAGE_CHILDREN)`` on a direct child would report at least the
harness's own size (measured: 25 MiB for ``python -c pass``, which really peaks at 9 MiB). Polling
with psutil can miss a short peak. Wall time is taken around the whole launch; GNU time adds the
same ~1 ms to both sides of a comparison.

Commands compared with each other are run round-robin (ours, baseline, ours, ...) so that a slow
phase of the machine (another process, thermal throttling) hits both sides alike, and one warm-up
round is discarded so that page cache and ``.pyc`` files are in the same state for every sample.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024
TIME = shutil.which("time", path="/usr/bin:/bin")

# Without GNU time, a minimal Python launcher forks, execs the command and reports the child's
# peak RSS from wait4(); its own small size is then the floor of the figure (about 9 MiB).
LAUNCHER = (
    "import os, sys\n"
    "out = sys.argv[1]\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(out, 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def _measured(argv: Sequence[str], usage_file: str) -> list[str]:
    if TIME is not None:
        return [TIME, "--format=%M", f"--output={usage_file}", *argv]
    return [sys.executable, "-S", "-c", LAUNCHER, usage_file, *argv]


class MeasurementError(RuntimeError):
    """A measured command failed: its timing would be meaningless."""


@dataclass(frozen=True, slots=True)
class Command:
    """A process to measure: its arguments, and where and with what environment it runs.
    ``prepare`` runs before every sample, untimed (to put back what the command changes)."""

    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    prepare: Callable[[], None] | None = None

    def __str__(self) -> str:
        return " ".join(self.argv)


@dataclass(slots=True)
class Samples:
    """Repeated measurements of one thing; figures report the median."""

    seconds: list[float] = field(default_factory=list)
    peak_rss_bytes: list[int] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_rss_mib(self) -> float:
        return statistics.median(self.peak_rss_bytes) / MIB


def run_once(command: Command) -> tuple[float, int]:
    """Run a command to completion: (wall seconds, peak RSS in bytes). Its stdout goes to
    /dev/null (what a user piping to a file or a log would see); its stderr is kept for the error
    message should it fail."""
    with tempfile.NamedTemporaryFile(prefix="bench-rss-") as usage, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        completed = subprocess.run(
            _measured(command.argv, usage.name),
            env=None if command.env is None else dict(command.env),
            cwd=command.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if completed.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-2000:]
            raise MeasurementError(f"{command} exited with {completed.returncode}:\n{tail}")
        kib = int(Path(usage.name).read_text().split()[-1])
    return elapsed, kib * 1024


def run_processes(commands: Mapping[str, Command], repetitions: int, warmup: int = 1) -> dict[str, Samples]:
    """Measure several commands round-robin; the first ``warmup`` rounds are discarded."""
    results = {name: Samples() for name in commands}
    for round_number in range(warmup + repetitions):
        for name, command in commands.items():
            if command.prepare is not None:
                command.prepare()
            seconds, rss = run_once(command)
            if round_number >= warmup:
                results[name].seconds.append(seconds)
                results[name].peak_rss_bytes.append(rss)
    return results


def time_calls(functions: Mapping[str, Callable[[], object]], repetitions: int, warmup: int = 1) -> dict[str, Samples]:
    """Time in-process calls round-robin, like :func:`run_processes`. A full collection runs
    before each call, so garbage left by the previous one is not charged to the next."""
    results = {name: Samples() for name in functions}
    for round_number in range(warmup + repetitions):
        for name, function in functions.items():
            gc.collect()
            started = time.perf_counter()
            function()
            elapsed = time.perf_counter() - started
            if round_number >= warmup:
                results[name].seconds.append(elapsed)
    return results


def python_command(python: str, *args: str | Path, env: Mapping[str, str] | None = None) -> Command:
    """``python ARGS...`` as a :class:`Command` (paths turned into strings)."""
    return Command((python, *(str(a) for a in args)), env=env)


def per_item(total: Samples, single: Samples, items: int) -> float:
    """Seconds per item of a run of ``items`` items, net of what a run of one item costs (start-up
    of the event loop, the pipeline's fixed phases): (median(total) - median(single)) / (items - 1)."""
    return (total.median_seconds - single.median_seconds) / (items - 1)


def flatten(samples: Mapping[str, Samples]) -> dict[str, dict[str, Sequence[float]]]:
    """Raw samples for the JSON results, so a reader can check the spread behind each median."""
    return {
        name: {"seconds": s.seconds, **({"peak_rss_mib": [b / MIB for b in s.peak_rss_bytes]} if s.peak_rss_bytes else {})}
        for name, s in samples.items()
    }
