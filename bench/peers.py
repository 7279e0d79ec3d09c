"""The peers the figures are compared with, each in a virtualenv of its own under the work directory.

A peer is installed at a pinned version, so a figure measured today can be compared with one
measured next month. It never goes into the project's own virtualenv (its dependencies would
change what the orchestrator imports and resolves) and never into CI: only ``make bench`` creates
these environments, once, and reuses them while their recipe (interpreter, requirements) is
unchanged. Dask is not here: it is already installed with the contrib Dask plugin and runs in the
harness's own interpreter.

A peer that cannot be installed (no interpreter its ``Requires-Python`` accepts, or pip refusing)
is not an error: :func:`peer_env` says why, and the figure's row shows that reason instead of a
number.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: Written last into a finished environment: what it was built from.
RECIPE_FILE = "bench-peer-recipe.json"


@dataclass(frozen=True, slots=True)
class Peer:
    """A peer project: its name in the table, what to install, and the oldest Python it runs on."""

    name: str
    requirements: tuple[str, ...]
    min_python: tuple[int, int] = (3, 11)

    @property
    def label(self) -> str:
        return f"{self.name} {self.requirements[0].partition('==')[2]}"


#: SQLAlchemy comes with Luigi because its idiomatic database load is ``luigi.contrib.sqla.CopyToTable``;
#: that module still uses the 1.x API (``select([table])``), which SQLAlchemy 2 refuses.
LUIGI = Peer("Luigi", ("luigi==3.8.1", "sqlalchemy==1.4.54"))
KEDRO = Peer("Kedro", ("kedro==1.7.0",))
#: pipeline-flow declares Requires-Python >=3.12 (every release); it needs an interpreter of its own.
PIPELINE_FLOW = Peer("pipeline-flow", ("pipeline-flow==1.0.8",), (3, 12))
PEERS = (LUIGI, KEDRO, PIPELINE_FLOW)


@dataclass(frozen=True, slots=True)
class PeerEnv:
    """A ready environment: its interpreter and the Python version it runs."""

    peer: Peer
    path: Path
    version: str

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")


class PeerUnavailable(RuntimeError):
    """The peer cannot be measured on this machine; the message says why, for the table."""


_ready: dict[str, PeerEnv | PeerUnavailable] = {}


def peer_env(peer: Peer, root: Path) -> PeerEnv:
    """The peer's environment under ``root/peer-envs``, created when missing or stale. Raises
    :class:`PeerUnavailable` (remembered for the rest of the run, so a figure does not try twice)."""
    known = _ready.get(peer.name)
    if known is None:
        try:
            known = _prepare(peer, root / "peer-envs" / peer.name.lower())
        except PeerUnavailable as exc:
            known = exc
        _ready[peer.name] = known
    if isinstance(known, PeerUnavailable):
        raise known
    return known


def _prepare(peer: Peer, path: Path) -> PeerEnv:
    interpreter, version = find_interpreter(peer.min_python)
    recipe = json.dumps({"python": interpreter, "version": version, "requirements": peer.requirements}, sort_keys=True)
    try:
        finished = (path / RECIPE_FILE).read_text(encoding="utf-8") == recipe
    except OSError:
        finished = False
    env = PeerEnv(peer, path, version)
    if finished and Path(env.python).exists():
        return env
    print(f"creating the {peer.label} environment {path} (first run only) ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([interpreter, "-m", "venv", str(path)], check=True, stdin=subprocess.DEVNULL)
    pip = [env.python, "-m", "pip", "install", "--quiet", "--quiet", "--disable-pip-version-check", *peer.requirements]
    completed = subprocess.run(pip, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if completed.returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        errors = [line for line in completed.stderr.splitlines() if line.startswith("ERROR")]
        raise PeerUnavailable(f"pip could not install {' '.join(peer.requirements)} for Python {version}: "
                              + (errors[-1] if errors else completed.stderr.strip()[-300:]))
    (path / RECIPE_FILE).write_text(recipe, encoding="utf-8")
    print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return env


def find_interpreter(minimum: tuple[int, int]) -> tuple[str, str]:
    """An interpreter of at least ``minimum``: this one when it is recent enough, else one that
    uv or pyenv installed (the oldest that fits: the nearest to the orchestrator's own, so the
    interpreter's speed differs least), or ``python3.X`` on PATH (nothing is downloaded). Returns its path and
    version; raises :class:`PeerUnavailable` naming what was looked for."""
    if sys.version_info[:2] >= minimum:
        return sys.executable, ".".join(map(str, sys.version_info[:3]))
    for candidate in _candidates(minimum):
        version = _version_of(candidate)
        if version is not None and tuple(map(int, version.split(".")[:2])) >= minimum:
            return candidate, version
    wanted = ".".join(map(str, minimum))
    raise PeerUnavailable(
        f"needs Python >= {wanted} (its Requires-Python) and this machine has no such interpreter "
        f"(looked for: uv-managed, pyenv versions, python{wanted}+ on PATH)"
    )


def _candidates(minimum: tuple[int, int]) -> list[str]:
    found: list[str] = []
    uv = shutil.which("uv")
    if uv is not None:
        completed = subprocess.run([uv, "python", "find", "--no-python-downloads", f">={minimum[0]}.{minimum[1]}"],
                                   capture_output=True, text=True, check=False)
        if completed.returncode == 0 and completed.stdout.strip():
            found.append(completed.stdout.strip())
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for version, python in sorted((_version_key(p.parent.parent.name), p) for p in (pyenv_root / "versions").glob("3.*/bin/python3")):
        if version >= minimum:
            found.append(str(python))
    for minor in range(minimum[1], minimum[1] + 4):
        on_path = shutil.which(f"python{minimum[0]}.{minor}")
        if on_path is not None:
            found.append(on_path)
    return found


def _version_key(name: str) -> tuple[int, ...]:
    """``3.12.1`` as (3, 12, 1); a name that is no plain version sorts first and is skipped."""
    try:
        return tuple(int(part) for part in name.split(".")[:3])
    except ValueError:
        return (0,)


def _version_of(interpreter: str) -> str | None:
    """The interpreter's version, or None when it does not run (a pyenv shim for a version that
    is not selected exits with an error)."""
    try:
        completed = subprocess.run([interpreter, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                   capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None
