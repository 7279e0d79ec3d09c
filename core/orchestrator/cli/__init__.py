"""The ``orchestrator`` command: one module per command group.

Exit codes: 0 success, 1 a pipeline failed, 2 the input (config, arguments, plugins) was wrong, 130
interrupted. Each command module imports only click at the top, so ``--version`` and ``--help``
start fast; what a command needs is imported when it runs.

A mistyped command line (an unknown option, a missing argument, a bad choice) is click's usage
error: as text it is click's own usage, hint and ``Error:`` lines; under ``--log-format json`` it is
one JSON object like every other message, so a log collector never meets a line it cannot parse.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

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
from orchestrator.diagnostics import FORMATS, JSON, TEXT, VARIABLE, add_redaction, configure, log_format, say
from orchestrator.version import __version__


class _Orchestrator(click.Group):
    """The command group, whose usage errors follow ``--log-format``: click's ``main`` writes them
    itself, as text, so under json they are caught where they are raised, in reading the group's
    own options (:meth:`make_context`) or a command's (:meth:`invoke`), and written here."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any) -> click.Context:
        given = list(args)  # click's parser consumes the list it reads
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:  # the group's options were not read: look for --log-format in them
            if _asked_format(given) == JSON:
                _say_usage_error(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if ctx.params.get("log_format") == JSON:
                _say_usage_error(exc)
            raise


def _asked_format(args: Sequence[str]) -> str:
    """The format the group's options ask for (the last ``--log-format`` before the command), else
    the environment's: what the group would have read, had an option it did not know not stopped it."""
    asked = log_format()
    tokens = iter(args)
    for token in tokens:
        if token == "--log-format":
            asked = next(tokens, asked)
        elif token.startswith("--log-format="):
            asked = token.partition("=")[2]
        elif not token.startswith("-"):  # the command: what follows is its own
            break
    return asked if asked in FORMATS else TEXT


def _say_usage_error(exc: click.UsageError) -> NoReturn:
    """``exc`` as one JSON line: click's message, the command's usage and the hint click gives.
    The format is set here too, as the group's callback, which sets it, may not have run yet (an
    unknown command is found before it runs)."""
    if log_format() != JSON:
        configure(JSON)
    details = {}
    if exc.ctx is not None:
        details["usage"] = exc.ctx.get_usage().removeprefix("Usage: ")
        details["hint"] = f"Try '{exc.ctx.command_path} --help' for help."
    say(exc.format_message(), "error", details=details)
    sys.exit(exc.exit_code)


@click.group(cls=_Orchestrator, context_settings={"help_option_names": ["-h", "--help"]})
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
