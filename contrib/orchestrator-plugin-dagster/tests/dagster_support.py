"""What the tests read back after a run: Dagster's events by step, and the core's run history."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import dagster as dg


def step_events(result: dg.ExecuteInProcessResult) -> dict[str, list[str]]:
    """The event types of each step (an asset's step is named ``<file>__<pipeline>``), in order."""
    events: dict[str, list[str]] = defaultdict(list)
    for event in result.all_events:
        if event.step_key is not None:
            events[event.step_key].append(event.event_type_value)
    return dict(events)


def history(config: Path) -> dict[str, dict[str, Any]]:
    """The core's runs of ``config``, by run id, as ``orchestrator runs --json`` lists them."""
    out = subprocess.run(
        [sys.executable, "-m", "orchestrator", "runs", "--config", str(config), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return {run["run_id"]: run for run in json.loads(out)}
