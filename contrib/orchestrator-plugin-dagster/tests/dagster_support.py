"""What the tests read back after a run: Dagster's events by step."""

from __future__ import annotations

from collections import defaultdict

import dagster as dg


def step_events(result: dg.ExecuteInProcessResult) -> dict[str, list[str]]:
    """The event types of each step (an asset's step is named ``<file>__<pipeline>``), in order."""
    events: dict[str, list[str]] = defaultdict(list)
    for event in result.all_events:
        if event.step_key is not None:
            events[event.step_key].append(event.event_type_value)
    return dict(events)
