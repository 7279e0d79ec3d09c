"""``orchestrator graph``: the pipelines' dependency graph as text, Mermaid or Graphviz dot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from orchestrator.cli.common import CONFIG, PARAM, load_plan, load_plugins

if TYPE_CHECKING:
    from orchestrator.config.model import PipelineSpec


@click.command()
@CONFIG
@PARAM
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text", show_default=True)
def graph(config: str, params: Sequence[str], fmt: str) -> None:
    """Draw the pipelines' dependency graph."""
    from orchestrator.config.graph import render

    plan = load_plan(config, params, load_plugins())
    deps = {name: spec.depends_on for name, spec in plan.pipelines.items()}
    click.echo(render(deps, fmt, {name: _label(spec) for name, spec in plan.pipelines.items()}), nl=False)


def _label(spec: PipelineSpec) -> str:
    """The pipeline's type, and what decides whether it runs when that is not the default."""
    from orchestrator.config.model import ALL_SUCCEEDED

    parts = [spec.type]
    if spec.fanout is not None and spec.fanout.source is not None:
        parts.append(f"foreach row of {spec.fanout.source}")
    if spec.extract_from is not None:
        parts.append(f"extract from {spec.extract_from}")
    if spec.run_if != ALL_SUCCEEDED:
        parts.append(f"run_if: {spec.run_if}")
    if spec.when is not None:
        parts.append(f"when: {' '.join(spec.when.split())}".replace('"', "'"))
    return ", ".join(parts)
