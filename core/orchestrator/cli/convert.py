"""``orchestrator convert``: configs of other tools written in this format.

The converted config goes to stdout (or ``-o FILE``), and what had no equivalent goes to stderr as
``OLD:LINE: $.path: message``, one line each, so nothing is lost in silence. Exit 0 when a file
was written (with or without such notes), 2 when the input is no config of that tool.
"""

from __future__ import annotations

import click

from orchestrator.cli.common import count, fail, problems


@click.group()
def convert() -> None:
    """Convert a config of another tool into this format."""


@convert.command("pipeline-flow")
@click.argument("old", type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), help="Write the converted config to this file instead of stdout.")
def pipeline_flow(old: str, output: str | None) -> None:
    """Convert a pipeline-flow config (OLD.yaml) into this format."""
    from pathlib import Path

    from orchestrator.convert.pipeline_flow import convert_file
    from orchestrator.errors import ConfigError

    try:
        conversion = convert_file(Path(old))
    except ConfigError as exc:
        fail(problems(exc))
    text = conversion.yaml(Path(old).name)
    if output is None:
        click.echo(text, nl=False)
    else:
        target = Path(output)
        if target.resolve() == Path(old).resolve():
            fail(f"error: -o {output} is the file being converted; write the converted config to another file")
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"error: cannot write {output}: {exc.strerror or exc}")
    for note in conversion.notes:
        click.echo(note, err=True)
    if conversion.notes:
        click.echo(f"{count(len(conversion.notes), 'note')}: what has no equivalent, or was changed to fit; the rest was converted as it was.", err=True)
