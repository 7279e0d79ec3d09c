"""``orchestrator schedules``: each schedule and trigger, its next fire times, paused or not, and its
last tick; ``orchestrator schedules pause|resume CONFIG#PIPELINE``."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.common import fail, load_plugins


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("words", nargs=-1, metavar="[CONFIG_OR_DIR] | pause|resume CONFIG#PIPELINE")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of every schedule and trigger.")
def schedules(words: tuple[str, ...], as_json: bool) -> None:
    """List schedules and triggers (default: every *.yaml here), or pause or resume one schedule."""
    try:
        from orchestrator.serve import catalog
    except ImportError as exc:
        fail(f"error: schedules need the serve extra ({exc.name} is missing): pip install 'pipeline-orchestrator[serve]'")
    if words and words[0] in ("pause", "resume"):
        if len(words) != 2:
            fail(f"error: orchestrator schedules {words[0]} takes one CONFIG#PIPELINE, e.g. pipelines/sales.yaml#daily_sales")
        _pause(words[1], words[0] == "pause")
        return
    if len(words) > 1:
        fail("error: orchestrator schedules takes one CONFIG_OR_DIR (or pause|resume CONFIG#PIPELINE)")
    _list(catalog.config_files(words or (".",)), as_json)


def _list(paths: list[Path], as_json: bool) -> None:
    import json

    from orchestrator.cli.common import problems
    from orchestrator.errors import ConfigError
    from orchestrator.serve.catalog import load_served
    from orchestrator.serve.listing import rows

    plugins = load_plugins()
    served = []
    for path in paths:
        try:
            served.append(load_served(path, plugins.registry))
        except ConfigError as exc:
            fail(problems(exc))
        except OSError as exc:
            fail(f"error: {path}: {exc.strerror}")
    found = rows(served)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no schedules or triggers")
    for row in found:
        paused = " (paused)" if row["paused"] else ""
        click.echo(f"{row['id']}{paused}\n  {row['kind']}: {row['spec']}" + (f" ({row['timezone']})" if row["timezone"] else ""))
        if row["next"]:
            click.echo("  next: " + ", ".join(row["next"]))
        last = row["last_tick"]
        if last:
            click.echo(f"  last: {last['logical_time']} {last['status']} run {last['run_id']}")


def _pause(ref: str, paused: bool) -> None:
    from pathlib import Path

    from orchestrator.cli.common import problems
    from orchestrator.errors import ConfigError
    from orchestrator.serve.catalog import load_served, pipeline_key, split_ref
    from orchestrator.serve.store import connect
    from orchestrator.serve.ticks import TickLedger

    try:
        config, name = split_ref(ref, Path.cwd())
        served = load_served(config, load_plugins().registry)
    except ValueError as exc:
        fail(f"error: {exc}; name a schedule as CONFIG#PIPELINE, e.g. pipelines/sales.yaml#daily_sales")
    except ConfigError as exc:
        fail(problems(exc))
    except OSError as exc:
        fail(f"error: {ref}: {exc.strerror}")
    sid = pipeline_key(config, name)
    if sid not in served.schedules:
        having = ", ".join(p for p, _s in served.schedules.values()) or "none"
        fail(f"error: {ref}: no schedule (pipelines with one in {config.name}: {having})")
    connection = connect(served.plan.state, served.plan.base_dir)
    try:
        TickLedger(connection).set_paused(sid, paused)
    finally:
        connection.close()
    click.echo(f"{ref}: {'paused' if paused else 'resumed'}")
