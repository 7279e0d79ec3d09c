"""Registration: the ``dask`` executor is found through the entry point, with its options schema,
and merely having the plugin installed never imports ``distributed``."""

from __future__ import annotations

import subprocess
import sys

from orchestrator.plugins.registry import EXECUTOR

from orchestrator_plugin_dask.schema import OPTIONS

PROBE = """
import sys
from orchestrator.config.plan import load_plan
from orchestrator.plugins.discovery import load_plugins
plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin,dask"})
load_plan(sys.argv[1], plugins.registry)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("distributed", "dask", "tornado")))
"""


def test_the_executor_is_registered_with_its_options_schema(plugins) -> None:
    entry = plugins.registry.get(EXECUTOR, "dask")
    assert entry is not None and entry.origin.plugin == "dask"
    assert entry.target == "orchestrator_plugin_dask.executor:DaskExecutor"
    assert entry.schema == OPTIONS
    assert set(OPTIONS["properties"]) == {"address", "workers", "threads_per_worker", "processes", "retries", "resources"}


def test_loading_plugins_and_validating_a_dask_config_imports_no_dask(write_config) -> None:
    config = write_config(
        """
        executor: {name: dask, address: 'tcp://127.0.0.1:8786', retries: 1}
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{id: rows, plugin: python.call, args: {callable: "steps:rows"}}]}
              load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}
        """
    )
    probe = subprocess.run([sys.executable, "-c", PROBE, str(config)], capture_output=True, text=True, timeout=60, check=True)
    assert probe.stdout.strip() == "[]"


def test_creating_the_executor_is_what_imports_distributed(plugins) -> None:
    probe = (
        "import sys\n"
        "from orchestrator.plugins.discovery import load_plugins\n"
        "entry = load_plugins({'ORCHESTRATOR_LOAD_PLUGINS': 'builtin,dask'}).registry.get('executor', 'dask')\n"
        "before = 'distributed' in sys.modules\n"
        "executor = entry.resolve()(address='tcp://127.0.0.1:8786')\n"
        "print(before, 'distributed' in sys.modules, executor.crosses_processes, executor.retries)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.split() == ["False", "True", "True", "2"]
