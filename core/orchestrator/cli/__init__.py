"""The ``orchestrator`` command: one module per command group.

Exit codes: 0 success, 1 a pipeline failed, 2 the input (config, arguments, plugins) was wrong, 130
interrupted. Each command module imports only click at the top, so ``--version`` and ``--help``
start fast; what a command needs is imported when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from orchestrator.cli.backfill import backfill
from orchestrator.cli.convert import convert
from orchestrator.cli.export import export
from orchestrator.cli.graph import graph
from orchestrator.cli.new import new
from orchestrator.cli.plugins import plugins
from orchestrator.cli.run import run
from orchestrator.cli.runs import runs
from orchestrator.cli.schedules import schedules
from orchestrator.cli.schema import schema
from orchestrator.cli.serve import serve
from orchestrator.cli.validate import validate
from orchestrator.diagnostics import FORMATS, JSON, TEXT, VARIABLE, add_redaction, configure
from orchestrator.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="orchestrator", message="%(prog)s %(version)s")
@click.option(
    "--log-format", type=click.Choice(FORMATS), default=TEXT, show_default=True, envvar=VARIABLE,
    help=f"How errors, warnings and (json) step log lines are written to stderr: as text, or one JSON object per line. Env: {VARIABLE}.",
)
def cli(log_format: str) -> None:
    """Run ETL / ELT / ETLT pipelines described in YAML."""
    configure(log_format)
    if log_format == JSON:  # a URL's password in a message is masked, as in the history
        from orchestrator.config.interpolate import hide_passwords

        add_redaction(hide_passwords)


for command in (validate, run, plugins, schema, graph, runs, new, serve, schedules, backfill, export, convert):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="orchestrator")
