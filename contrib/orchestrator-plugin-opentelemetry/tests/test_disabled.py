"""Installed but not asked for (no endpoint in the environment, no ``telemetry.traces`` in the
run's file), the plugin offers no step hook, its consumer declines every run, and nothing of
OpenTelemetry is imported: a run pays one call for it. With an endpoint set, loading the plugins
still imports no SDK (it is loaded when a run starts)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from runs import SECRET, write_run

from orchestrator.config.plan import load_plan
from orchestrator.consumers import RunStart, consuming
from orchestrator.events import discard
from orchestrator.plugins.discovery import Plugins

#: ``orchestrator run ARGS...`` in this interpreter, then the modules it imported, on the last line
# (plugins are imported on a thread of their own, which ``python -X importtime`` does not report)
CLI_PROBE = """
import atexit, runpy, sys
atexit.register(lambda: print(sorted(sys.modules)))
sys.argv = ["orchestrator", "run", *sys.argv[1:]]
runpy.run_module("orchestrator", run_name="__main__")
"""


def imported_by(ran: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules the probe's process imported."""
    return set(ast.literal_eval(ran.stdout.strip().splitlines()[-1]))


def test_without_an_endpoint_a_cli_run_imports_nothing_of_opentelemetry(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    ran = subprocess.run(
        [sys.executable, "-c", CLI_PROBE, str(write_run(tmp_path))],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path, env={**env, "SHOP_API_TOKEN": SECRET},
    )
    assert ran.returncode == 1, ran.stderr  # the broken pipeline fails the run
    modules = imported_by(ran)
    assert "orchestrator_plugin_opentelemetry.plugin" in modules  # the entry point was loaded ...
    assert not {m for m in modules if m.startswith("opentelemetry")}  # ... and decided to do nothing
    assert not {m for m in modules if m.startswith("orchestrator_plugin_opentelemetry.") and not m.endswith(".plugin")}


def test_without_an_endpoint_only_the_consumer_is_registered_and_it_declines_the_run(plugins: Plugins, tmp_path: Path) -> None:
    """The consumer is registered (a run's file may ask for traces), but no step hook; for a run
    whose file does not ask, its factory returns None, so the run's events go to its own sink alone."""
    [info] = [info for info in plugins.registry.plugins if info.name == "opentelemetry"]
    assert info.hooks == ["register_event_consumers"] and info.consumers == ["opentelemetry"]
    plan = load_plan(write_run(tmp_path), plugins.registry, env={**os.environ, "SHOP_API_TOKEN": SECRET})
    sink = discard
    assert consuming(plugins.registry, RunStart("r-1", str(plan.source), plan, {}), sink) is sink


def test_with_an_endpoint_the_entry_point_registers_the_consumer_alone_in_a_run_process() -> None:
    """The same entry point in a process whose environment names an endpoint: the consumer, and
    no step hook (the consumer makes a step's span current here; the hooks are offered in worker
    processes only, which test_span_tree's step-code tests check). ``validate`` and ``plugins``
    still import no SDK: it is loaded when a run starts."""
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    probe = (
        "import sys; from orchestrator.plugins.discovery import load_plugins; "
        "p = load_plugins({'ORCHESTRATOR_LOAD_PLUGINS': 'builtin,opentelemetry'}); "
        "[info] = [i for i in p.registry.plugins if i.name == 'opentelemetry']; "
        "print(info.hooks, info.consumers, [n for n in sys.modules if n.startswith('opentelemetry')])"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False, env=env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == (
        "['register_event_consumers'] ['opentelemetry'] []"
    )
