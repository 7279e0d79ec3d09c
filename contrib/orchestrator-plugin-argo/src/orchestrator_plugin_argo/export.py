"""``orchestrator export argo pipeline.yaml --image IMAGE [-o FILE]``: the Argo manifest of a
pipeline file, as YAML (``kubectl create -f`` or ``argo submit`` it). The file is validated, and
the manifest built with hera's models, before anything is written."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--image", required=True, metavar="IMAGE", help="The container image with pipeline-orchestrator and the pipeline file.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the manifest here (default: stdout).")
@click.option("--name", metavar="NAME", help="The workflow's name (default: the pipeline file's name).")
@click.option("--pipeline", "pipelines", multiple=True, metavar="NAME", help="Only this pipeline and what it depends on (repeatable).")
@click.option("--workdir", default="/pipelines", show_default=True, metavar="DIR", help="The folder of the pipeline file in the image.")
@click.option("--state-claim", metavar="CLAIM", help="A PersistentVolumeClaim mounted at the file's state directory, so checkpoints outlive a pod.")
def command(
    config: Path, image: str, output: Path | None, name: str | None, pipelines: Sequence[str], workdir: str, state_claim: str | None,
) -> None:
    """Write CONFIG as an Argo Workflow (a CronWorkflow when it has a schedule)."""
    from orchestrator_plugin_argo.manifest import ManifestError, workflow

    try:
        made = workflow(config, image, name=name, pipelines=pipelines, workdir=workdir, state_claim=state_claim)
    except ManifestError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    text = made.to_yaml()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} ({made.kind} {made.name or made.generate_name})", err=True)
