"""Installed but not configured, the plugin offers no hook and imports nothing of OpenTelemetry:
a run pays nothing for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from runs import SECRET, write_run

from orchestrator.engine.record import LIFECYCLE, listened_hooks
from orchestrator.plugins.discovery import Plugins

# Runs a real pipeline with the entry point loaded, then says which hooks the engine calls and
# whether any OpenTelemetry module was imported.
PROBE = """
import sys
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.engine.record import LIFECYCLE, listened_hooks
from orchestrator.plugins.discovery import load_plugins

plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin,opentelemetry"})
result = Engine(load_plan(sys.argv[1], plugins.registry), plugins).run_sync()
print(sorted(listened_hooks(plugins)), sorted(name for name in sys.modules if name.startswith("opentelemetry")))
"""


def test_without_an_endpoint_the_engine_calls_no_hook_and_no_sdk_is_imported(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    ran = subprocess.run(
        [sys.executable, "-c", PROBE, str(write_run(tmp_path))], capture_output=True, text=True, timeout=120, check=False,
        env={**env, "SHOP_API_TOKEN": SECRET},
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[] []"


def test_with_an_endpoint_the_entry_point_offers_every_lifecycle_hook(plugins: Plugins) -> None:
    """The same entry point in a process whose environment names an endpoint (``validate`` and
    ``plugins`` still import no SDK: it is loaded at the first pipeline)."""
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    probe = (
        "import sys; from orchestrator.plugins.discovery import load_plugins; "
        "from orchestrator.engine.record import listened_hooks; "
        "p = load_plugins({'ORCHESTRATOR_LOAD_PLUGINS': 'builtin,opentelemetry'}); "
        "print(sorted(listened_hooks(p)), [n for n in sys.modules if n.startswith('opentelemetry')])"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False, env=env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == f"{sorted(LIFECYCLE)} []"
    assert listened_hooks(plugins) == {}  # this test process has no endpoint
