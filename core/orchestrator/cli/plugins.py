"""``orchestrator plugins``: what is installed, as a table for people and JSON for tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from orchestrator.cli.common import load_plugins

if TYPE_CHECKING:
    from orchestrator.plugins.registry import Registry


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """List installed plugins: distribution, version, steps per phase, executors, exporters, engines, hooks."""
    loaded = load_plugins()
    if as_json:
        import json

        from orchestrator.plugins.listing import listing

        click.echo(json.dumps(listing(loaded.registry), indent=2))
    else:
        click.echo(render_listing(loaded.registry), nl=False)


def render_listing(registry: Registry) -> str:
    """The listing as a table for people: one block per plugin, then what failed to load."""
    from orchestrator.plugins.listing import listing

    data = listing(registry)
    lines: list[str] = []
    for plugin in data["plugins"]:
        lines.append(f"{plugin['distribution']} {plugin['version']}  (plugin {plugin['name']})")
        for phase, names in plugin["steps"].items():
            lines.append(f"  {phase + ':':<19}{', '.join(names)}")
        for kind in ("executors", "notifiers", "event_consumers", "exporters", "engines"):
            if plugin[kind]:
                lines.append(f"  {kind.replace('_', ' ') + ':':<19}{', '.join(plugin[kind])}")
        lines.append(f"  {'hooks:':<19}{', '.join(plugin['hooks'])}")
    if data["failed"]:
        lines.append("")
        lines.append("failed to load:")
        for failed in data["failed"]:
            lines.append(f"  {failed['distribution']} {failed['version']}  (plugin {failed['name']}): {failed['error']}")
    return "\n".join(lines) + "\n"
