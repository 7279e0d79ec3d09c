"""``orchestrator export airflow pipeline.yaml [-o FILE]``: the dags-folder file of a pipeline file.

The file it writes is two lines of Python around :func:`~orchestrator_plugin_airflow.pipeline_dag`,
so the DAG follows the pipeline file as it changes, with no export to redo. The pipeline file is
validated (and turned into the DAG once, so a file that cannot be one DAG is told here, not by the
scheduler) before anything is written.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

TEMPLATE = '''"""Airflow DAG of {name}: one task per pipeline, each run by pipeline-orchestrator.

Written by `orchestrator export airflow`; the DAG follows {name} as it changes.
"""

from orchestrator_plugin_airflow import pipeline_dag

dag = pipeline_dag({arguments})
'''


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the DAG file here (default: stdout).")
@click.option("--dag-id", metavar="ID", help="The DAG's id (default: the pipeline file's name).")
@click.option("--pipeline", "pipelines", multiple=True, metavar="NAME", help="Only this pipeline and what it depends on (repeatable).")
@click.option(
    "--config-path", metavar="PATH",
    help="The pipeline file's path as the DAG file names it, where Airflow runs (default: relative to the DAG file with -o, else absolute).",
)
def command(config: Path, output: Path | None, dag_id: str | None, pipelines: Sequence[str], config_path: str | None) -> None:
    """Write CONFIG as an Airflow DAG file, for the dags folder."""
    from orchestrator_plugin_airflow.dag import PipelineDagError, pipeline_dag

    try:
        dag = pipeline_dag(config.resolve(), dag_id=dag_id, pipelines=pipelines)
    except PipelineDagError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    path = config_path or _where(config, output)
    arguments = [repr(path), f"dag_id={dag.dag_id!r}"]
    if pipelines:
        arguments.append(f"pipelines={list(pipelines)!r}")
    text = TEMPLATE.format(name=config.name, arguments=", ".join(arguments))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} (DAG {dag.dag_id}: {', '.join(dag.task_ids)})", err=True)


def _where(config: Path, output: Path | None) -> str:
    """The pipeline file as the DAG file names it: relative to the DAG file's folder when both
    are known (the two move together), else absolute."""
    if output is None:
        return str(config.resolve())
    return os.path.relpath(config.resolve(), output.resolve().parent)
