"""What every command shares: exit statuses, the config and ``--param`` arguments, and turning the
command line into loaded plugins and a plan, or into a message and exit status 2.

Imports beyond click happen inside the functions, so ``--version`` and ``--help`` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.errors import ConfigError
    from orchestrator.plugins.discovery import Plugins

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

CONFIG = click.argument("config", type=click.Path(dir_okay=True, path_type=str))
PARAM = click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a parameter declared under params:.")


def fail(message: str) -> NoReturn:
    """Print ``message`` to stderr and exit with :data:`EXIT_BAD_INPUT`."""
    click.echo(message, err=True)
    sys.exit(EXIT_BAD_INPUT)


def load_plugins() -> Plugins:
    """Every installed plugin; one that failed to load is a warning, unless loading is strict."""
    from orchestrator.errors import PluginError
    from orchestrator.plugins.discovery import load_plugins as load

    try:
        plugins = load()
    except PluginError as exc:
        fail(f"error: {exc}")
    for problem in plugins.registry.problems:
        click.echo(f"warning: {problem} (skipped)", err=True)
    return plugins


def parse_params(values: Sequence[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` options as a mapping."""
    params: dict[str, str] = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name.strip():
            fail(f"error: --param {value!r}: expected NAME=VALUE, e.g. --param {name.strip() or 'NAME'}=VALUE")
        params[name.strip()] = raw
    return params


def load_plan(
    config: str, params: Sequence[str], plugins: Plugins, *, import_code: bool = False,
    variables: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """The validated plan of ``config``, or every problem in it and exit status 2. With
    ``import_code`` (``validate`` and ``run``), python.call's callables are imported and checked
    too (:mod:`orchestrator.builtin.callable_check`), and so are ``retry.on``'s exception names;
    commands that only read the plan leave them be."""
    from orchestrator.config.plan import load_plan as load
    from orchestrator.errors import ConfigError

    try:
        plan = load(config, plugins.registry, params=parse_params(params), variables=variables)
        if import_code:
            from orchestrator.builtin.callable_check import check_callables
            from orchestrator.builtin.retry_names import check_retry_names

            check_callables(plan)
            check_retry_names(plan, plugins.registry)
    except ConfigError as exc:
        fail(problems(exc))
    return plan


def problems(exc: ConfigError) -> str:
    """One line per problem (line breaks and control characters in values are shown escaped), and the count."""
    lines = [str(problem).translate(_VISIBLE) for problem in exc.problems]
    return "\n".join([*lines, f"{count(len(lines), 'problem')} found."])


#: control characters (and every character that starts a new line) as the escapes Python writes them
_VISIBLE = {
    code: repr(chr(code))[1:-1]
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)
    if code != 0x09
}


def count(n: int, noun: str) -> str:
    """``1 pipeline``, ``2 pipelines``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
