"""``orchestrator backfill``: one run per schedule tick from one day to another."""

from __future__ import annotations

import click

from orchestrator.cli.common import CONFIG, EXIT_FAILED, fail, load_plugins


@click.command()
@CONFIG
@click.option("--pipeline", required=True, help="The pipeline whose schedule's ticks run.")
@click.option("--from", "first", required=True, metavar="DATE", help="The first day (or time), in the schedule's time zone.")
@click.option("--to", "last", required=True, metavar="DATE", help="The last day (or time), included.")
@click.option("--parallel", default=1, show_default=True, type=click.IntRange(1), help="How many ticks run at the same time.")
@click.option("--force", is_flag=True, help="Run ticks that already succeeded again.")
def backfill(config: str, pipeline: str, first: str, last: str, parallel: int, force: bool) -> None:
    """Run a pipeline once per tick of its schedule whose logical time falls from --from to --to
    (whole days, both included); ticks that succeeded are skipped unless --force. Run it again to
    continue one that stopped."""
    import sys
    from pathlib import Path

    try:
        from orchestrator.serve.backfill import Backfill, BackfillError
    except ImportError as exc:
        fail(f"error: backfill needs the serve extra ({exc.name} is missing): pip install 'pipeline-orchestrator[serve]'")
    from orchestrator.cli.common import problems
    from orchestrator.errors import ConfigError

    job = Backfill(Path(config).absolute(), pipeline, first, last, load_plugins(), parallel=parallel, force=force,
                   say=lambda text: click.echo(text))
    try:
        counts = job.run()
    except ConfigError as exc:
        fail(problems(exc))
    except (BackfillError, OSError) as exc:
        fail(f"error: {exc}")
    click.echo(f"{counts['succeeded']} succeeded, {counts['failed']} failed, {counts['skipped']} skipped")
    if counts["failed"]:
        sys.exit(EXIT_FAILED)
