"""The plugin as the orchestrator sees it: registered through its entry point, cheap to import,
its argument schemas enforced before anything runs."""

from __future__ import annotations

import subprocess
import sys

from orchestrator.config.phases import EXTRACT, LOAD, TRANSFORM

CHECK_IMPORTS = """
import sys
import orchestrator_plugin_arrow.plugin
from orchestrator.plugins.discovery import load_plugins
plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "arrow"})
assert plugins.registry.get("load", "arrow.write_parquet") is not None
heavy = sorted(name for name in sys.modules if name.split(".")[0] == "pyarrow" or name.startswith("orchestrator_plugin_arrow.") and name != "orchestrator_plugin_arrow.plugin" and name != "orchestrator_plugin_arrow.schemas")
print(",".join(heavy) or "none")
"""


def test_the_plugin_module_does_not_import_pyarrow():
    done = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"


def test_every_step_is_registered_in_its_phase(plugins):
    registry = plugins.registry
    names = {
        EXTRACT: ["arrow.read_csv", "arrow.read_parquet"],
        TRANSFORM: ["arrow.to_rows", "arrow.from_rows", "arrow.select"],
        LOAD: ["arrow.write_parquet", "arrow.write_csv"],
    }
    for phase, steps in names.items():
        for step in steps:
            entry = registry.get(phase, step)
            assert entry is not None, (phase, step)
            assert callable(entry.resolve())


def test_the_plugins_command_lists_the_steps(tmp_path, orchestrator):
    done = orchestrator("plugins", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "orchestrator-plugin-arrow 0.1.0  (plugin arrow)" in done.stdout
    assert "arrow.read_csv, arrow.read_parquet" in done.stdout


def test_a_misspelt_argument_is_refused_before_running(
    tmp_path, write, orchestrator, config
):
    write(
        "pipeline.yaml",
        config(
            "{plugin: arrow.read_csv, args: {path: in.csv, blocksize: 10}}",
            "{plugin: arrow.write_parquet, args: {path: o.parquet}}",
        ),
    )
    done = orchestrator("validate", "pipeline.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        "unknown key 'blocksize'; did you mean 'block_size'?"
        in done.stdout + done.stderr
    )
