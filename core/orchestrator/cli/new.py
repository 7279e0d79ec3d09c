"""``orchestrator new plugin``: cookiecutter on the plugin template shipped inside the package.

cookiecutter is an optional dependency (``pip install 'pipeline-orchestrator[new]'``): it is needed
only to start a project, never to run pipelines. Like every command module, this one is imported
whenever the CLI starts, so what creating a project needs is imported when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli.common import fail

if TYPE_CHECKING:
    from pathlib import Path


@click.group()
def new() -> None:
    """Start something new from a template."""


@new.command("plugin")
@click.option("--no-input", is_flag=True, help="Do not prompt; use the defaults and --option values.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Answer a template question (repeatable).")
@click.option("--output-dir", type=click.Path(file_okay=False), default=".", show_default=True, help="Where to create the project.")
def new_plugin(no_input: bool, options: Sequence[str], output_dir: str) -> None:
    """Create a plugin distribution (tests, README, CI included) from the bundled template."""
    answers = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            fail(f"error: --option {option!r}: expected KEY=VALUE, e.g. --option plugin_name=shopify")
        answers[key.strip()] = value
    try:
        project = new_plugin_project(answers, output_dir=output_dir, no_input=no_input)
    except ScaffoldError as exc:
        fail(f"error: {exc}")
    click.echo(f"created {project}")
    click.echo(f"next: cd {project} && python -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest")


class ScaffoldError(Exception):
    """The project could not be created; the message says why. The command prints it (a plain
    exception: this module is imported at every start of the CLI, and imports nothing but click
    until a command runs)."""


def template_dir() -> Path:
    """The bundled template (``orchestrator/plugin_template`` in the installed package)."""
    from importlib import resources
    from pathlib import Path

    return Path(str(resources.files("orchestrator").joinpath("plugin_template")))


def new_plugin_project(answers: dict[str, str], *, output_dir: str | Path = ".", no_input: bool = False) -> Path:
    """Bake the template with ``answers`` (template questions by key) and return the project path."""
    import json
    import logging
    from pathlib import Path

    try:
        from cookiecutter.exceptions import (
            CookiecutterException,
            FailedHookException,
            OutputDirExistsException,
        )
        from cookiecutter.main import cookiecutter
    except ImportError:
        raise ScaffoldError("creating projects needs cookiecutter: pip install 'pipeline-orchestrator[new]'") from None
    template = template_dir()
    questions = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    unknown = sorted(set(answers) - {k for k in questions if not k.startswith("_")})
    if unknown:
        known = ", ".join(k for k in questions if not k.startswith("_"))
        raise ScaffoldError(f"unknown template option(s) {', '.join(unknown)}; the options are: {known}")
    context: dict[str, Any] = dict(answers)
    # cookiecutter logs a refused answer with a traceback; the hook has already said why
    quiet = logging.getLogger("cookiecutter")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    try:
        created = cookiecutter(str(template), no_input=no_input, extra_context=context, output_dir=str(output_dir))
    except FailedHookException:
        raise ScaffoldError("the template refused these answers (the reason is above); nothing was created") from None
    except OutputDirExistsException as exc:
        raise ScaffoldError(f"{exc}; choose another --output-dir or remove it") from None
    except (CookiecutterException, ValueError) as exc:
        raise ScaffoldError(str(exc)) from None
    except EOFError:  # stdin closed (a script, CI) before every question was answered
        raise ScaffoldError(
            "the template's questions need answers on stdin, which is closed; pass --no-input, with "
            "--option KEY=VALUE for each answer, to create the project without questions"
        ) from None
    return Path(created)
