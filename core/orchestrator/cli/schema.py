"""``orchestrator schema``: the config's JSON Schema, for editors, with every plugin's args in it."""

from __future__ import annotations

import click

from orchestrator.cli.common import fail, load_plugins


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to a file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the config's JSON Schema, composed with every installed plugin's args schema."""
    import json

    from orchestrator.config.schema import composed_schema

    text = json.dumps(composed_schema(load_plugins().registry), indent=2) + "\n"
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except FileNotFoundError:
            fail(f"error: --output {output!r}: the directory it would be written to does not exist; create it first")
        except OSError as exc:
            fail(f"error: --output {output!r}: cannot write the file: {exc.strerror or exc}")
    else:
        click.echo(text, nl=False)
