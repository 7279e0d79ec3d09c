"""``orchestrator graph``: the pipelines' dependency graph as text, Mermaid or Graphviz dot."""

from __future__ import annotations

from collections.abc import Sequence

import click

from orchestrator.cli.common import CONFIG, PARAM, load_plan, load_plugins


@click.command()
@CONFIG
@PARAM
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text", show_default=True)
def graph(config: str, params: Sequence[str], fmt: str) -> None:
    """Draw the pipelines' dependency graph."""
    from orchestrator.config.graph import render

    plan = load_plan(config, params, load_plugins())
    deps = {name: spec.depends_on for name, spec in plan.pipelines.items()}
    click.echo(render(deps, fmt, {name: spec.type for name, spec in plan.pipelines.items()}), nl=False)
