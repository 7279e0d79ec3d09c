"""What is installed, as plain data: ``orchestrator plugins --json`` prints it and the table is drawn
from it (:mod:`orchestrator.cli.plugins`)."""

from __future__ import annotations

from typing import Any

from orchestrator.config.phases import PHASES
from orchestrator.plugins.registry import Registry


def listing(registry: Registry) -> dict[str, Any]:
    """Every loaded plugin (distribution, version, steps per phase, executors, notification
    channels, event consumers, ``orchestrator export`` commands, the engines it runs pipeline files on, hooks) and every plugin that failed to load, with why."""
    return {
        "plugins": [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "steps": {phase: info.steps[phase] for phase in PHASES if info.steps.get(phase)},
                "executors": info.executors,
                "notifiers": info.notifiers,
                "event_consumers": info.consumers,
                "exporters": info.exporters,
                "engines": info.engines,
                "hooks": info.hooks,
            }
            for info in sorted(registry.plugins, key=lambda i: (i.distribution, i.name))
        ],
        "failed": [
            {"name": p.plugin, "distribution": p.distribution, "version": p.version, "error": p.error}
            for p in registry.problems
        ],
    }
