"""``orchestrator validate``: every problem of a config at once, or a one-line summary."""

from __future__ import annotations

from collections.abc import Sequence

import click

from orchestrator.cli.common import CONFIG, PARAM, count, load_plan, load_plugins


@click.command()
@CONFIG
@PARAM
def validate(config: str, params: Sequence[str]) -> None:
    """Check a config: every problem at once as FILE:LINE: PATH: MESSAGE (exit 2)."""
    plan = load_plan(config, params, load_plugins(), import_code=True)
    steps = sum(len(s) for p in plan.pipelines.values() for s in p.phases.values())
    click.echo(f"{config}: ok ({count(len(plan.pipelines), 'pipeline')}, {count(steps, 'step')})")
