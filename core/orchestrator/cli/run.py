"""``orchestrator run``: validate a config, run it with a reporter on the terminal, and exit with
the run's status. The run itself is put together by :mod:`orchestrator.launch`, as for the Python
API; what is the command's own is here: the reporter, Ctrl-C and SIGTERM, and the exit status."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import nullcontext

import click

from orchestrator.cli.common import (
    CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    PARAM,
    fail,
    load_plan,
    load_plugins,
    problems,
)


@click.command()
@CONFIG
@PARAM
@click.option("--pipeline", "selected", multiple=True, metavar="NAME", help="Run this pipeline and what it depends on (repeatable).")
@click.option("--executor", "executor", metavar="NAME", help="Run every pipeline on this executor.")
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines.")
@click.option(
    "--resume", "resume", is_flag=False, flag_value="latest", default=None, metavar="[RUN_ID]",
    help="Continue a failed or interrupted run (the latest of this config, or RUN_ID) from where it stopped.",
)
@click.option("--force", is_flag=True, help="With --resume: resume even though the config or its parameters changed.")
@click.option(
    "--replay-dead-letters", "replay", metavar="RUN_ID",
    help="Run the rows that run RUN_ID dead-lettered again, each from the step that rejected it, in a new run.",
)
@click.option(
    "--push-metrics", "push_url", metavar="URL", envvar="ORCHESTRATOR_PUSHGATEWAY_URL",
    help="At the end, push the run's Prometheus metrics to the Pushgateway at URL (or $ORCHESTRATOR_PUSHGATEWAY_URL).",
)
def run(
    config: str, params: Sequence[str], selected: Sequence[str], executor: str | None, as_json: bool,
    resume: str | None, force: bool, replay: str | None, push_url: str | None,
) -> None:
    """Validate a config, then run its pipelines (exit 1 if one failed)."""
    from orchestrator.cli.interrupts import EXIT_INTERRUPTED, run_until_interrupted
    from orchestrator.engine.prints import prints_as_logs
    from orchestrator.errors import ConfigError
    from orchestrator.launch import Launch, LaunchError, launched, with_executor
    from orchestrator.reporting import make_reporter, route_step_logs

    plugins = load_plugins()
    plan = load_plan(config, params, plugins, import_code=True)
    asked = Launch(config, selected, resume, force, replay)
    try:
        if executor:
            plan = with_executor(plan, executor, plugins.registry)
        with launched(plan, plugins, asked) as started:
            kind = "json" if as_json else ("live" if sys.stdout.isatty() else "plain")
            reporter = make_reporter(kind, sys.stdout, started.redact)
            pushed = None
            if push_url:  # only then is prometheus_client imported
                from pathlib import Path

                from orchestrator.prometheus import Pushed

                pushed = Pushed(push_url, plan, Path(config).name)
            sink = reporter if pushed is None else pushed.watching(reporter)
            route_step_logs()
            try:
                with prints_as_logs() if as_json else nullcontext():  # stdout is the JSON stream's alone
                    run_until_interrupted(lambda: started.start(sink), started.interrupt)
            finally:
                reporter.close()
                warning = None if pushed is None else pushed.push()
                if warning is not None:
                    click.echo(started.redact(warning), err=True)
    except LaunchError as exc:
        fail("\n".join(f"error: {line}" for line in str(exc).splitlines()))
    except ConfigError as exc:  # the plan cannot go where the executor would send it
        fail(problems(exc))
    result = started.result
    assert result is not None  # the run ended: run_until_interrupted returned
    reporter.summary(result)
    if started.unrecorded:
        click.echo(f"warning: {started.unrecorded}", err=True)
    sys.exit(EXIT_INTERRUPTED if result.interrupted else EXIT_OK if result.ok else EXIT_FAILED)
