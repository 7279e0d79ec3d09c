"""``orchestrator validate``: every problem of a config at once, or a one-line summary; with
``--show-expanded``, the config as a run gets it (includes merged, templates instantiated)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from orchestrator.cli.common import CONFIG, PARAM, count, load_plan, load_plugins


@click.command()
@CONFIG
@PARAM
@click.option(
    "--show-expanded", is_flag=True,
    help="Print the config after expansion (includes, templates, references) as YAML, secrets as ***.",
)
def validate(config: str, params: Sequence[str], show_expanded: bool) -> None:
    """Check a config: every problem at once as FILE:LINE: PATH: MESSAGE (exit 2)."""
    expanded: dict[str, object] = {}
    plan = load_plan(config, params, load_plugins(), import_code=True, expanded=expanded if show_expanded else None)
    if show_expanded:
        from orchestrator.config.expanded import render

        if "params" in expanded:  # as the run gets them: defaults substituted, --param applied
            expanded["params"] = dict(plan.params)
        click.echo(render(expanded, plan.secrets), nl=False)
        return
    steps = sum(len(s) for p in plan.pipelines.values() for s in p.phases.values())
    click.echo(f"{config}: ok ({count(len(plan.pipelines), 'pipeline')}, {count(steps, 'step')})")
