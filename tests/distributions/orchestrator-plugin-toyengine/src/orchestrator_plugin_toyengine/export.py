"""The toy engine's job file: one step per pipeline, after the steps of what it depends on."""

import json
import sys

import click

from orchestrator.config.plan import load_plan
from orchestrator.errors import ConfigError
from orchestrator.plugins.discovery import load_plugins


def job(path):
    plan = load_plan(path, load_plugins().registry)
    return {
        "steps": [
            {"name": name, "after": list(spec.depends_on), "run": ["orchestrator", "run", str(path), "--pipeline", name, "--only"]}
            for name, spec in plan.pipelines.items()
        ]
    }


@click.command()
@click.argument("config")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Where to write (default: stdout).")
def command(config, output):
    """Write CONFIG as a toy-engine job file."""
    try:
        output.write(json.dumps(job(config), indent=2) + "\n")
    except ConfigError as exc:
        click.echo("\n".join(str(problem) for problem in exc.problems), err=True)
        sys.exit(2)
