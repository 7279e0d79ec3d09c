"""``orchestrator run``: validate a config, run it with a reporter on the terminal, and exit with
the run's status. The run itself is put together by :mod:`orchestrator.launch`, as for the Python
API; what is the command's own is here: the reporter, Ctrl-C and SIGTERM, and the exit status."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from orchestrator.config.model import Plan


def _run_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--run-id`` checked by the one rule for run ids, before anything is loaded."""
    from orchestrator.runstate.layout import RunIdError, check_run_id

    try:
        return None if value is None else check_run_id(value)
    except RunIdError as exc:
        fail(f"error: --run-id: {exc}")


def _tick(plan: Plan, selected: Sequence[str], logical_time: str) -> dict[str, dict[str, str]]:
    """``${schedule.*}`` of the tick due at ``logical_time`` of the one schedule of the selected
    pipelines (of every pipeline, without ``--pipeline``)."""
    from datetime import datetime

    from orchestrator.config.schedule import ScheduleError, logical_tick

    try:
        moment = datetime.fromisoformat(logical_time)  # 3.11 reads a trailing Z too
    except ValueError:
        fail(f"error: --logical-time {logical_time!r}: expected an ISO 8601 time with its offset, e.g. 2026-11-03T02:00:00+01:00")
    if moment.tzinfo is None:
        fail(f"error: --logical-time {logical_time!r}: the time has no offset; add one, e.g. {logical_time}+00:00")
    schedules = [p.schedule for name, p in plan.pipelines.items() if p.schedule is not None and (not selected or name in selected)]
    try:
        return {"schedule": logical_tick(schedules, moment)}
    except ScheduleError as exc:
        fail(f"error: --logical-time: {exc}; select the pipelines of one schedule with --pipeline")


@click.command()
@CONFIG
@PARAM
@click.option("--pipeline", "selected", multiple=True, metavar="NAME", help="Run this pipeline and what it depends on (repeatable).")
@click.option("--only", is_flag=True, help="With --pipeline: run the pipeline alone; what it depends on is taken as done.")
@click.option("--downstream", is_flag=True, help="With --pipeline: run the pipeline and everything that depends on it.")
@click.option(
    "--no-pipeline-retry", "pipeline_retry", is_flag=True, flag_value=False, default=True,
    help="Make one attempt of each pipeline, its retry: left to the engine running this command (steps keep theirs).",
)
@click.option(
    "--run-id", "run_id", metavar="ID", callback=_run_id,
    help="The run's id, e.g. from an engine that runs this command; a recorded run with this id is continued.",
)
@click.option(
    "--logical-time", "logical_time", metavar="TIME",
    help="Run as the tick of the pipelines' schedule due at TIME (ISO 8601), e.g. from an engine's scheduler: ${schedule.*} is its data interval.",
)
@click.option("--executor", "executor", metavar="NAME", help="Run every pipeline on this executor.")
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines.")
@click.option(
    "--resume", "resume", is_flag=False, flag_value="latest", default=None, metavar="[RUN_ID]",
    help="Continue a failed or interrupted run (the latest of this config, or RUN_ID) from where it stopped.",
)
@click.option("--force", is_flag=True, help="With --resume or --run-id: go on even though the config or its parameters changed.")
@click.option(
    "--replay-dead-letters", "replay", metavar="RUN_ID",
    help="Run the rows that run RUN_ID dead-lettered again, each from the step that rejected it, in a new run.",
)
@click.option(
    "--push-metrics", "push_url", metavar="URL", envvar="ORCHESTRATOR_PUSHGATEWAY_URL",
    help="At the end, push the run's Prometheus metrics to the Pushgateway at URL (or $ORCHESTRATOR_PUSHGATEWAY_URL).",
)
def run(
    config: str, params: Sequence[str], selected: Sequence[str], only: bool, downstream: bool, pipeline_retry: bool,
    run_id: str | None, logical_time: str | None, executor: str | None, as_json: bool, resume: str | None, force: bool, replay: str | None, push_url: str | None,
) -> None:
    """Validate a config, then run its pipelines (exit 1 if one failed)."""
    from orchestrator.cli.interrupts import EXIT_INTERRUPTED, run_until_interrupted
    from orchestrator.diagnostics import JSON, log_format, say
    from orchestrator.engine.prints import prints_as_logs
    from orchestrator.errors import ConfigError
    from orchestrator.launch import Launch, LaunchError, launched, with_executor
    from orchestrator.reporting import make_reporter, route_step_logs

    plugins = load_plugins()
    plan = load_plan(config, params, plugins, import_code=True)
    if logical_time is not None:  # the file again, with the tick's ${schedule.*}
        plan = load_plan(config, params, plugins, import_code=True, variables=_tick(plan, selected, logical_time))
    asked = Launch(config, selected, resume, force, replay, run_id, only, downstream, pipeline_retry)
    try:
        if executor:
            plan = with_executor(plan, executor, plugins.registry)
        with launched(plan, plugins, asked) as started:
            kind = "json" if as_json else ("live" if sys.stdout.isatty() else "plain")
            reporter = make_reporter(kind, sys.stdout, started.redact, logs_to_stderr=log_format() == JSON)
            pushed = None
            if push_url:  # only then is prometheus_client imported
                from pathlib import Path

                from orchestrator.prometheus import Pushed

                pushed = Pushed(push_url, plan, Path(config).name)
            sink = reporter if pushed is None else pushed.watching(reporter)
            route_step_logs()
            try:
                # stdout is the JSON stream's alone; JSON logs take what steps print with their lines
                with prints_as_logs() if as_json or log_format() == JSON else nullcontext():
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
        say(f"warning: {started.unrecorded}", "warning", run_id=result.run_id)
    sys.exit(EXIT_INTERRUPTED if result.interrupted else EXIT_OK if result.ok else EXIT_FAILED)
