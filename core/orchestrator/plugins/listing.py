"""``orchestrator plugins``: what is installed, as a table for people and JSON for tools."""

from __future__ import annotations

from typing import Any

from orchestrator.config.phases import PHASES
from orchestrator.plugins.registry import Registry


def listing(registry: Registry) -> dict[str, Any]:
    """Every loaded plugin (distribution, version, steps per phase, executors, notification
    channels, hooks) and every plugin that failed to load, with why."""
    return {
        "plugins": [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "steps": {phase: info.steps[phase] for phase in PHASES if info.steps.get(phase)},
                "executors": info.executors,
                "notifiers": info.notifiers,
                "hooks": info.hooks,
            }
            for info in sorted(registry.plugins, key=lambda i: (i.distribution, i.name))
        ],
        "failed": [
            {"name": p.plugin, "distribution": p.distribution, "version": p.version, "error": p.error}
            for p in registry.problems
        ],
    }


def render_listing(registry: Registry) -> str:
    data = listing(registry)
    lines: list[str] = []
    for plugin in data["plugins"]:
        lines.append(f"{plugin['distribution']} {plugin['version']}  (plugin {plugin['name']})")
        for phase, names in plugin["steps"].items():
            lines.append(f"  {phase + ':':<19}{', '.join(names)}")
        for kind in ("executors", "notifiers"):
            if plugin[kind]:
                lines.append(f"  {kind + ':':<19}{', '.join(plugin[kind])}")
        lines.append(f"  {'hooks:':<19}{', '.join(plugin['hooks'])}")
    if data["failed"]:
        lines.append("")
        lines.append("failed to load:")
        for failed in data["failed"]:
            lines.append(f"  {failed['distribution']} {failed['version']}  (plugin {failed['name']}): {failed['error']}")
    return "\n".join(lines) + "\n"
