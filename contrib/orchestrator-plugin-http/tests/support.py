"""Helpers for the tests: config text for one ``http.get`` pipeline, and the installed CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PLUGINS_ENV = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,http"}
BIN = Path(sys.executable).parent


def http_pipeline(args: str, load: str = "{plugin: jsonl.write, args: {path: out/rows.jsonl}}") -> str:
    """A one-pipeline config: ``http.get`` with ``args`` (a YAML flow mapping) into ``load``."""
    return f"""
pipelines:
  p:
    type: ETL
    phases:
      extract:
        steps:
          - id: api
            plugin: http.get
            args: {args}
      load:
        steps:
          - {load}
"""


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``orchestrator`` console script as a real subprocess."""
    return subprocess.run(
        [str(BIN / "orchestrator"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **PLUGINS_ENV, **env},
        cwd=cwd,
        timeout=60,
    )
