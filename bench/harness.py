"""What every figure shares: the :class:`Bench` (inputs, commands, repetitions), the labels of the
orchestrator's own measured commands, and the row helpers.

The figures live in the ``*_figures`` modules, one per concern (:mod:`bench.peer_figures` holds the
workloads measured side by side with peer projects); :mod:`bench.figures` lists them in table
order. All build on this module.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.environment import BENCH_DIR, NO_CACHE_ENV, PLUGIN_ENV, measured_env, orchestrator_script
from bench.measure import Command, Samples, flatten, python_command
from bench.peers import Peer, peer_env
from bench.report import Row, Target
from bench.workspace import Workspace
from orchestrator.engine import Engine
from orchestrator.plugins.discovery import Plugins, load_plugins

if TYPE_CHECKING:
    from orchestrator.config.model import Plan

BASELINES = BENCH_DIR / "baselines"
US = 1e6
OURS, OURS_NO_CACHE = "orchestrator run", "orchestrator run, cache off"
#: Notes that apply to several figures, printed once under the table.
FOOTNOTES = (
    (
        "'cache off' rows set ORCHESTRATOR_NO_CACHE=1 (a first run, or a core without its start-up cache); "
        "other runs keep the core's cache in the work directory, warmed by the discarded first round."
    ),
    (
        "Whole-process times are medians of wall time from launch to exit (stdout to /dev/null); peak RSS is "
        "the child's maximum resident set (GNU time %M). Ratios are ours / baseline; the baseline of each row "
        "is measured in the same run, interleaved round by round with ours."
    ),
    (
        "Peers (Luigi, Kedro, pipeline-flow) run in virtualenvs of their own under the work directory "
        "(peer-envs/, pinned versions, created on first use and reused); pipeline-flow needs Python >= 3.12, "
        "so it runs on the oldest such interpreter found here (the orchestrator and the other baselines run "
        "on this one). Dask runs in the harness's own virtualenv (installed with the contrib Dask plugin)."
    ),
)


@dataclass
class Bench:
    """What every figure needs: inputs, commands, and how many repetitions to take."""

    workspace: Workspace
    quick: bool
    python: str = sys.executable

    def __post_init__(self) -> None:
        self.orchestrator = orchestrator_script()
        self.env = measured_env(self.workspace.root / "cache")
        # in-process figures see exactly what the measured subprocesses see
        os.environ.clear()
        os.environ.update(self.env)

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def run(
        self, config: Path, *, cache: bool = True, script: str | None = None, env: Mapping[str, str] | None = None
    ) -> Command:
        """``orchestrator run CONFIG`` as a user runs it, from the config's directory; by default
        with this virtualenv's script and the measured environment."""
        base = dict(self.env if env is None else env)
        if not cache:
            base |= NO_CACHE_ENV
        return Command((script or self.orchestrator, "run", str(config)), env=base, cwd=config.parent)

    def runs(self, config: Path) -> dict[str, Command]:
        """The run with the core's cache warm and with it switched off, to be measured together."""
        return {OURS: self.run(config), OURS_NO_CACHE: self.run(config, cache=False)}

    def baseline(self, script: str, *args: str | Path) -> Command:
        """A plain-Python baseline script of ``bench/baselines``."""
        return python_command(self.python, BASELINES / script, *args, env=self.env)

    def peer(self, peer: Peer, script: str, *args: str | Path) -> Command:
        """A peer's script of ``bench/baselines`` run by the interpreter of the peer's own virtualenv
        (created on first use); raises :class:`bench.peers.PeerUnavailable` with the reason."""
        env = peer_env(peer, self.workspace.root)
        return python_command(env.python, BASELINES / script, *args, env=self.env)

    def bare_python(self) -> Command:
        """``python -c pass``: the floor every whole-process figure stands on."""
        return python_command(self.python, "-c", "pass", env=self.env)


def time_rows(figure: str, label: str, samples: dict[str, Samples], baseline: str, target: Target, note: str) -> list[Row]:
    """A whole-run time row with the cache warm and one with it off, against the same baseline."""
    base = samples[baseline].median_seconds
    return [
        Row(figure, label, "s", samples[OURS].median_seconds, base, baseline, target, note, flatten(samples)),
        Row(figure, label + ", cache off", "s", samples[OURS_NO_CACHE].median_seconds, base, baseline, target),
    ]


@contextmanager
def environment(extra: dict[str, str]) -> Iterator[None]:
    """Set environment variables for in-process code for the duration of a block."""
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def in_process_plugins() -> Plugins:
    """Plugins discovered through entry points with the same allow-list as the subprocesses."""
    return load_plugins(env=PLUGIN_ENV)


def engine_run(plan: Plan, plugins: Plugins) -> Callable[[], None]:
    """A call that runs a plan on a fresh Engine (default discard event sink) and fails loudly if a
    pipeline did not succeed: timing a failing run would flatter the engine."""

    def run() -> None:
        result = Engine(plan, plugins).run_sync()
        if not result.ok:
            errors = [p.error for p in result.pipelines.values() if p.error]
            raise RuntimeError(f"benchmark pipeline failed: {errors[:1]}")

    return run
