"""``orchestrator export NAME``: a pipeline file written as another engine's files (an Airflow DAG
file, an Argo Workflow). The subcommands come from plugins (the ``register_exporters`` hook), so
every engine adapter plugs into one command group; the core ships none of its own.

The plugins are loaded only when a subcommand is listed or looked up, so the rest of the CLI
starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from orchestrator.plugins.registry import Registry


class _Exporters(click.Group):
    """A group whose subcommands are the exporters plugins registered."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from orchestrator.plugins.registry import EXPORTER

        return _registry().names(EXPORTER)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from orchestrator.errors import PluginError
        from orchestrator.plugins.registry import EXPORTER

        registry = _registry()
        entry = registry.get(EXPORTER, cmd_name)
        if entry is None:
            close = registry.suggest(cmd_name, EXPORTER)
            known = ", ".join(registry.names(EXPORTER)) or "none: install an engine adapter, e.g. orchestrator-plugin-airflow"
            hint = f"; did you mean {close!r}?" if close else ""
            ctx.fail(f"no exporter {cmd_name!r}{hint} (installed: {known})")
        try:
            command = entry.resolve()
        except PluginError as exc:
            ctx.fail(str(exc))
        if not isinstance(command, click.Command):
            ctx.fail(f"exporter {cmd_name!r} of {entry.origin} is not a click command")
        if entry.description and not command.short_help:
            command.short_help = entry.description
        return command


def _registry() -> Registry:
    from orchestrator.cli.common import load_plugins

    return load_plugins().registry


@click.group(cls=_Exporters)
def export() -> None:
    """Write a pipeline file as another engine's files (the engines come from installed plugins)."""
