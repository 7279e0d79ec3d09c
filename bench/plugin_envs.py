"""Virtual environments with known sets of plugins, for the figure that measures what installed
plugins add to start-up.

The harness's own virtualenv holds whatever a developer installed, so a figure about the number of
plugins needs environments whose contents are known: "bare" has only the core, "loaded" has the
core, every contrib distribution and :data:`DUMMY_COUNT` generated third-party-style plugin
distributions. Both live under the work directory and are created once: creating them takes tens
of seconds (pip resolving and unpacking the contrib plugins' dependencies), measuring takes a few.
An environment is reused while its recipe (interpreter, the ``pyproject.toml`` files it was built
from, this module's source, which generates the dummies) is unchanged, and built again otherwise.
The core and the contrib plugins are installed editable, so edits to their code need no reinstall;
the dummies are installed from wheels, as a plugin from a package index would be.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from bench.environment import NO_CACHE_ENV, REPO

DUMMY_COUNT = 50
DUMMY_VERSION = "0.1.0"
CORE_DISTRIBUTION = "pipeline-orchestrator"
#: The variables that restrict which plugins load; the figure runs without them.
PLUGIN_SELECTION = ("ORCHESTRATOR_LOAD_PLUGINS", "ORCHESTRATOR_DISABLE_PLUGINS")
#: Written last into a finished environment: what it was built from.
RECIPE_FILE = "bench-recipe.json"

DUMMY_PLUGIN = Template('''\
"""Registration of $distribution: names, args schemas and "module:function" targets only, so
this module (imported by every orchestrator command) imports nothing but the hook marker."""

from orchestrator import hookimpl

STEPS = "$package.steps"
PATH = {"description": "File path, relative to the pipeline file.", "type": "string", "minLength": 1}
READ_ARGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": PATH,
        "batch_size": {"description": "Rows per batch.", "type": "integer", "minimum": 1, "default": 1000},
    },
}
SCALE_ARGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["column"],
    "properties": {
        "column": {"description": "Numeric column to scale.", "type": "string", "minLength": 1},
        "factor": {"description": "Multiplier.", "type": "number", "default": 1.0},
    },
}
WRITE_ARGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {"path": PATH, "append": {"description": "Append instead of replacing.", "type": "boolean", "default": False}},
}


@hookimpl
def register_extractors(register):
    register("$name.read", f"{STEPS}:read", schema=READ_ARGS, description="Read rows of a $name file.")


@hookimpl
def register_transformers(register):
    register("$name.scale", f"{STEPS}:scale", schema=SCALE_ARGS, description="Multiply one column by a factor.")


@hookimpl
def register_loaders(register):
    register("$name.write", f"{STEPS}:write", schema=WRITE_ARGS, description="Write rows to a $name file.")
''')

DUMMY_STEPS = Template('''\
"""The steps of $distribution, imported only when a pipeline runs one of them."""

import json


def read(ctx, path, batch_size=1000):
    with open(ctx.path(path), encoding="utf-8") as handle:
        batch = []
        for line in handle:
            batch.append(json.loads(line))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def scale(ctx, data, column, factor=1.0):
    return [{**row, column: row[column] * factor} for row in data]


def write(ctx, batches, path, append=False):
    target = ctx.path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(target, "a" if append else "w", encoding="utf-8") as handle:
        for batch in batches:
            for row in batch:
                handle.write(json.dumps(row) + "\\n")
                rows += 1
    return rows
''')


@dataclass(frozen=True, slots=True)
class VirtualEnv:
    """A virtual environment made by this module."""

    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def orchestrator(self) -> str:
        return str(self.path / "bin" / "orchestrator")

    def recipe_matches(self, recipe: str) -> bool:
        try:
            finished = (self.path / RECIPE_FILE).read_text(encoding="utf-8") == recipe
        except OSError:
            return False
        return finished and self.python.exists() and Path(self.orchestrator).exists()


@dataclass(frozen=True, slots=True)
class PluginEnvironments:
    """The two environments, which distributions the loaded one holds, and what creating them cost
    in this run (0 when both were reused)."""

    bare: VirtualEnv
    loaded: VirtualEnv
    contrib: tuple[str, ...]
    dummies: tuple[str, ...]
    created_seconds: float

    @property
    def plugin_count(self) -> int:
        """Plugin distributions besides the core in the loaded environment."""
        return len(self.contrib) + len(self.dummies)


def prepare(folder: Path, environ: Mapping[str, str]) -> PluginEnvironments:
    """The bare and loaded environments under ``folder``, created or rebuilt when needed, and
    checked with ``environ``: a plugin that fails to load would be skipped with a warning, and the
    figure would then time less than it claims, so that is an error here."""
    contrib = contrib_projects()
    contrib_names = tuple(_project_name(project) for project in contrib)
    dummies = tuple(dummy_distribution(number) for number in range(DUMMY_COUNT))
    bare, loaded = VirtualEnv(folder / "bare"), VirtualEnv(folder / "loaded")
    core_recipe = {
        "python": sys.version,
        "base": sys.base_prefix,
        "repo": str(REPO),
        "core": _digest_file(REPO / "pyproject.toml"),
    }
    bare_recipe = json.dumps(core_recipe, sort_keys=True)
    loaded_recipe = json.dumps(
        core_recipe
        | {
            "contrib": {str(project): _digest_file(project / "pyproject.toml") for project in contrib},
            "dummies": _digest_file(Path(__file__)),
        },
        sort_keys=True,
    )
    started, created = time.perf_counter(), False
    if not bare.recipe_matches(bare_recipe):
        _create(bare, bare_recipe, [["-e", str(REPO)]])
        created = True
    if not loaded.recipe_matches(loaded_recipe):
        wheels = write_dummy_wheels(folder / "dummy-wheels", DUMMY_COUNT)
        installs = [["-e", str(REPO), *(arg for project in contrib for arg in ("-e", str(project)))]]
        installs.append(["--no-index", *map(str, wheels)])
        _create(loaded, loaded_recipe, installs)
        created = True
    seconds = time.perf_counter() - started if created else 0.0
    check_plugins(bare, (), environ)
    check_plugins(loaded, (*contrib_names, *dummies), environ)
    return PluginEnvironments(bare, loaded, contrib_names, dummies, seconds)


def all_plugins_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the plugin allow-list and deny-list, so every installed plugin loads."""
    return {key: value for key, value in environ.items() if key not in PLUGIN_SELECTION}


def check_plugins(env: VirtualEnv, expected: Sequence[str], environ: Mapping[str, str]) -> None:
    """Fail unless ``orchestrator plugins`` in ``env`` lists exactly the core and ``expected``
    distributions, none of them failing to load. Run with the cache off, so discovery really runs."""
    completed = subprocess.run(
        [env.orchestrator, "plugins", "--json"],
        env={**environ, **NO_CACHE_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    listing = json.loads(completed.stdout)
    found = {plugin["distribution"] for plugin in listing["plugins"]}
    wanted = {CORE_DISTRIBUTION, *expected}
    if found != wanted or listing["failed"]:
        raise RuntimeError(
            f"{env.path}: plugins missing {sorted(wanted - found)}, unexpected {sorted(found - wanted)}, "
            f"failed to load {listing['failed']}"
        )


def contrib_projects() -> list[Path]:
    """Every contrib distribution: each directory of ``contrib/`` with a ``pyproject.toml``."""
    return sorted(path.parent for path in (REPO / "contrib").glob("*/pyproject.toml"))


def dummy_distribution(number: int) -> str:
    return f"orchestrator-plugin-dummy-{number:02d}"


def write_dummy_wheels(folder: Path, count: int) -> list[Path]:
    """Write ``count`` dummy plugin wheels into ``folder`` (emptied first). Each has a package
    with the registration module and a steps module, and an ``orchestrator.plugins`` entry point
    naming the former, as a plugin built from the documented template would."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    wheels = []
    for number in range(count):
        distribution = dummy_distribution(number)
        package = distribution.replace("-", "_")
        name = f"dummy{number:02d}"
        fields = {"distribution": distribution, "package": package, "name": name}
        files = {
            f"{package}/__init__.py": f'"""{distribution}: a generated plugin that registers three steps."""\n',
            f"{package}/plugin.py": DUMMY_PLUGIN.substitute(fields),
            f"{package}/steps.py": DUMMY_STEPS.substitute(fields),
        }
        metadata = {
            "METADATA": (
                f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {DUMMY_VERSION}\n"
                f"Summary: Generated plugin {name} for the benchmarks.\nRequires-Python: >=3.11\n"
                f"Requires-Dist: {CORE_DISTRIBUTION}\n"
            ),
            "WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            "entry_points.txt": f"[orchestrator.plugins]\n{name} = {package}.plugin\n",
        }
        wheels.append(write_wheel(folder, package, DUMMY_VERSION, files, metadata))
    return wheels


def write_wheel(folder: Path, package: str, version: str, files: Mapping[str, str], metadata: Mapping[str, str]) -> Path:
    """A pure-Python wheel (PEP 427) of ``files`` and the ``.dist-info`` ``metadata`` files, with
    the RECORD pip checks. Writing the zip directly takes milliseconds, where building 50 projects
    through a build backend takes minutes."""
    dist_info = f"{package}-{version}.dist-info"
    path = folder / f"{package}-{version}-py3-none-any.whl"
    entries = {**files, **{f"{dist_info}/{name}": text for name, text in metadata.items()}}
    records = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, text in entries.items():
            data = text.encode("utf-8")
            wheel.writestr(name, data)
            hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
            records.append(f"{name},sha256={hashed},{len(data)}")
        records.append(f"{dist_info}/RECORD,,")
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return path


def _create(env: VirtualEnv, recipe: str, installs: Sequence[Sequence[str]]) -> None:
    """Build ``env`` from scratch: a venv without pip of its own (the harness's pip installs into
    it, which saves seconds per environment), one ``pip install`` per argument list (errors only:
    index warnings would bury the table), and the recipe written last, so an interrupted build is
    never taken for a finished one."""
    print(f"creating the plugin environment {env.path} (first run only) ...", file=sys.stderr, flush=True)
    shutil.rmtree(env.path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env.path)], check=True)
    for args in installs:
        pip = [sys.executable, "-m", "pip", "--python", str(env.python), "install", "--quiet", "--quiet", *args]
        subprocess.run(pip, check=True, stdin=subprocess.DEVNULL)
    (env.path / RECIPE_FILE).write_text(recipe, encoding="utf-8")


def _project_name(project: Path) -> str:
    with (project / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["name"])


def _digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
