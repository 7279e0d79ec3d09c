"""The environment figures run in: the interpreter, the ``orchestrator`` script, the plugin
allow-list, and the benchmark step plugin.

The no-op and sleeping steps come from a real plugin distribution installed into the running
virtualenv, because steps reach the engine only through entry points; a plugin registered by hand
would skip the discovery cost every user pays.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PLUGIN_PROJECT = BENCH_DIR / "plugins" / "orchestrator-bench-steps"
PLUGIN_DISTRIBUTION = "orchestrator-bench-steps"
PLUGIN_MODULE = "orchestrator_bench_steps"
#: The contrib Arrow plugin, measured by the arrow-10m figure: (project folder, distribution, module).
ARROW_PROJECT = (REPO / "contrib" / "orchestrator-plugin-arrow", "orchestrator-plugin-arrow", "orchestrator_plugin_arrow")
#: The contrib Dask plugin, measured by the dag-1000 figure.
DASK_PROJECT = (REPO / "contrib" / "orchestrator-plugin-dask", "orchestrator-plugin-dask", "orchestrator_plugin_dask")
CONFIG_SCHEMA = REPO / "schemas" / "pipeline.schema.json"

#: Only these plugins load in measured processes, so other installed plugins cannot skew a figure.
PLUGIN_ENV = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,bench"}
#: The allow-list of the Arrow figure's runs (the bench steps are not needed there).
ARROW_PLUGIN_ENV = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,arrow"}
#: The allow-list of the dag-1000 figure: the dask executor, and python.call from builtin.
DASK_PLUGIN_ENV = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,bench,dask"}
#: Set on the re-executed harness, so a broken install fails instead of looping.
_REEXEC_MARK = "ORCHESTRATOR_BENCH_REEXEC"


class SetupError(RuntimeError):
    """The benchmarks cannot run here (missing package or script)."""


def plugin_installed(distribution: str = PLUGIN_DISTRIBUTION, module: str = PLUGIN_MODULE) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec(module) is not None


def ensure_plugin(argv: Sequence[str]) -> None:
    """Install the step plugin, the Arrow plugin and the Dask plugin (editable) into this interpreter's environment
    when missing, then restart the harness: an editable install's path entry is only read at
    interpreter start."""
    projects = [(PLUGIN_PROJECT, PLUGIN_DISTRIBUTION, PLUGIN_MODULE), ARROW_PROJECT, DASK_PROJECT]
    missing = [(folder, dist) for folder, dist, module in projects if not plugin_installed(dist, module)]
    if not missing:
        return
    names = ", ".join(dist for _, dist in missing)
    if os.environ.get(_REEXEC_MARK):
        raise SetupError(f"{names} was installed but cannot be imported by {sys.executable}")
    print(f"installing {names} (editable) into {sys.prefix} ...", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *(arg for folder, _ in missing for arg in ("-e", str(folder)))],
        check=True,
    )
    os.environ[_REEXEC_MARK] = "1"
    os.execv(sys.executable, [sys.executable, "-m", "bench", *argv])


def orchestrator_script() -> str:
    """The ``orchestrator`` console script next to this interpreter (the virtualenv's)."""
    if importlib.util.find_spec("orchestrator") is None:
        raise SetupError(f"the orchestrator package is not installed for {sys.executable}; run `make install`")
    script = Path(sys.executable).parent / "orchestrator"
    if not script.exists():
        raise SetupError(f"{script} not found; run the benchmarks with the virtualenv's python")
    return str(script)


#: Switches the core's on-disk start-up cache off (honoured by cores that have one).
NO_CACHE_ENV = {"ORCHESTRATOR_NO_CACHE": "1"}


def measured_env(cache_dir: Path) -> dict[str, str]:
    """The environment of measured code: this process's, with the plugin allow-list, and with the
    core's on-disk cache kept in the work directory (never the user's own cache, which other runs
    share). Dropped: plugin tracing and a cache switch inherited from the caller, and
    ``PYTHONDONTWRITEBYTECODE``: with it, every module edited since its ``.pyc`` was written is
    compiled again in every process (6 ms for the engine module alone), which no installed
    package pays; the discarded warm-up round writes the ``.pyc`` files instead."""
    dropped = ("ORCHESTRATOR_TRACE_PLUGINS", "ORCHESTRATOR_NO_CACHE", "PYTHONDONTWRITEBYTECODE", _REEXEC_MARK)
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return env | PLUGIN_ENV | {"ORCHESTRATOR_CACHE_DIR": str(cache_dir)}
