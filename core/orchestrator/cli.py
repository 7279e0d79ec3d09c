"""The ``orchestrator`` command.

Exit codes: 0 success, 1 a pipeline failed, 2 the input (config, arguments, plugins) was wrong.
Imports beyond click happen inside the commands, so ``--version`` and ``--help`` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from orchestrator import __version__

if TYPE_CHECKING:
    from orchestrator.errors import ConfigError
    from orchestrator.model import Plan
    from orchestrator.plugins import Plugins

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(EXIT_BAD_INPUT)


def _load_plugins() -> Plugins:
    from orchestrator.errors import PluginError
    from orchestrator.plugins import load_plugins

    try:
        plugins = load_plugins()
    except PluginError as exc:
        _fail(f"error: {exc}")
    for problem in plugins.registry.problems:
        click.echo(f"warning: {problem} (skipped)", err=True)
    return plugins


def _parse_params(values: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name.strip():
            _fail(f"error: --param {value!r}: expected NAME=VALUE, e.g. --param {name.strip() or 'NAME'}=VALUE")
        params[name.strip()] = raw
    return params


def _load_plan(config: str, params: Sequence[str], plugins: Plugins) -> Plan:
    from orchestrator.config import load_plan
    from orchestrator.errors import ConfigError

    try:
        return load_plan(config, plugins.registry, params=_parse_params(params))
    except ConfigError as exc:
        _fail(_problems(exc))


def _problems(exc: ConfigError) -> str:
    """One line per problem (line breaks and control characters in values are shown escaped), and the count."""
    lines = [str(problem).translate(_VISIBLE) for problem in exc.problems]
    return "\n".join([*lines, f"{_count(len(lines), 'problem')} found."])


#: control characters (and every character that starts a new line) as the escapes Python writes them
_VISIBLE = {
    code: repr(chr(code))[1:-1]
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)
    if code != 0x09
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


CONFIG = click.argument("config", type=click.Path(dir_okay=True, path_type=str))
PARAM = click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a parameter declared under params:.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="orchestrator", message="%(prog)s %(version)s")
def cli() -> None:
    """Run ETL / ELT / ETLT pipelines described in YAML."""


@cli.command()
@CONFIG
@PARAM
def validate(config: str, params: Sequence[str]) -> None:
    """Check a config: every problem at once as FILE:LINE: PATH: MESSAGE (exit 2)."""
    plan = _load_plan(config, params, _load_plugins())
    steps = sum(len(s) for p in plan.pipelines.values() for s in p.phases.values())
    pipelines = len(plan.pipelines)
    click.echo(f"{config}: ok ({_count(pipelines, 'pipeline')}, {_count(steps, 'step')})")


@cli.command()
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
def run(
    config: str, params: Sequence[str], selected: Sequence[str], executor: str | None, as_json: bool,
    resume: str | None, force: bool, replay: str | None,
) -> None:
    """Validate a config, then run its pipelines (exit 1 if one failed)."""
    from orchestrator.errors import ConfigError
    from orchestrator.interrupts import EXIT_INTERRUPTED
    from orchestrator.launch import Launch, LaunchError, launch

    plugins = _load_plugins()
    plan = _load_plan(config, params, plugins)
    if executor:
        plan = _with_executor(plan, executor, plugins)
    asked = Launch(config, selected, as_json, resume, force, replay)
    try:
        result, unrecorded = launch(plan, plugins, asked)
    except LaunchError as exc:
        _fail("\n".join(f"error: {line}" for line in str(exc).splitlines()))
    except ConfigError as exc:  # the plan cannot go where the executor would send it
        _fail(_problems(exc))
    if unrecorded:
        click.echo(f"warning: {unrecorded}", err=True)
    sys.exit(EXIT_INTERRUPTED if result.interrupted else EXIT_OK if result.ok else EXIT_FAILED)


def _with_executor(plan: Plan, name: str, plugins: Plugins) -> Plan:
    from dataclasses import replace

    from orchestrator.model import ExecutorSpec
    from orchestrator.registry import EXECUTOR

    if plugins.registry.get(EXECUTOR, name) is None:
        known = ", ".join(plugins.registry.names(EXECUTOR))
        close = plugins.registry.suggest(name, EXECUTOR)
        hint = f"; did you mean {close!r}?" if close else ""
        _fail(f"error: --executor {name!r}: unknown executor{hint} (installed: {known})")
    # the config's options for that executor (a pipeline's own, else the file's) still apply
    default = plan.executor if plan.executor.name == name else ExecutorSpec(name)
    pipelines = {
        key: replace(p, executor=p.executor if p.executor.name == name else default) for key, p in plan.pipelines.items()
    }
    return replace(plan, pipelines=pipelines, executor=default)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """List installed plugins: distribution, version, steps per phase, executors, hooks."""
    from orchestrator.plugin_listing import listing, render_listing

    loaded = _load_plugins()
    if as_json:
        import json

        click.echo(json.dumps(listing(loaded.registry), indent=2))
    else:
        click.echo(render_listing(loaded.registry), nl=False)


@cli.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to a file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the config's JSON Schema, composed with every installed plugin's args schema."""
    import json

    from orchestrator.schema import composed_schema

    text = json.dumps(composed_schema(_load_plugins().registry), indent=2) + "\n"
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except FileNotFoundError:
            _fail(f"error: --output {output!r}: the directory it would be written to does not exist; create it first")
        except OSError as exc:
            _fail(f"error: --output {output!r}: cannot write the file: {exc.strerror or exc}")
    else:
        click.echo(text, nl=False)


@cli.command()
@CONFIG
@PARAM
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text", show_default=True)
def graph(config: str, params: Sequence[str], fmt: str) -> None:
    """Draw the pipelines' dependency graph."""
    from orchestrator.graph import render

    plan = _load_plan(config, params, _load_plugins())
    deps = {name: spec.depends_on for name, spec in plan.pipelines.items()}
    click.echo(render(deps, fmt, {name: spec.type for name, spec in plan.pipelines.items()}), nl=False)


@cli.command()
@click.argument("action", required=False, type=click.Choice(["list", "show", "prune"]), default="list")
@click.argument("run_id", required=False)
@click.option("--config", "config", type=click.Path(dir_okay=False), help="The pipeline file whose runs to show (its state: setting is used).")
@click.option("--state", "state_path", metavar="URL|PATH", help="The state store itself: a URL as in state:, or a SQLite file.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to list, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--keep-days", type=click.IntRange(min=1), metavar="N", help="prune: remove the runs that started more than N days ago.")
@click.option("--keep-runs", type=click.IntRange(min=1), metavar="N", help="prune: keep the newest N runs of each pipeline file.")
@click.option("--dry-run", is_flag=True, help="prune: list what would be removed, remove nothing.")
def runs(
    action: str, run_id: str | None, config: str | None, state_path: str | None, limit: int, as_json: bool,
    keep_days: int | None, keep_runs: int | None, dry_run: bool,
) -> None:
    """The run history: list runs, show one run's pipelines and step attempts, or prune old runs."""
    from orchestrator.history import HistoryError, history_store, list_runs, show_run

    if action == "show" and not run_id:
        _fail("error: orchestrator runs show RUN_ID: give the run id ('orchestrator runs' lists them)")
    if action == "prune" and run_id:
        _fail(f"error: orchestrator runs prune: removes runs by age and count, not by id ({run_id!r})")
    if action != "prune" and (keep_days or keep_runs or dry_run):
        _fail("error: --keep-days, --keep-runs and --dry-run go with 'orchestrator runs prune'")
    try:
        if action == "prune":
            from orchestrator.history_prune import prune_history

            text = prune_history(config, state_path, keep_days, keep_runs, dry_run=dry_run, as_json=as_json,
                                 load_plugins=_load_plugins, load_plan=_load_plan)
        else:
            store = history_store(config, state_path, _load_plugins if config else None, _load_plan)
            try:
                text = show_run(store, run_id, as_json=as_json) if action == "show" and run_id else list_runs(store, limit, as_json=as_json)
            finally:
                store.close()
    except HistoryError as exc:
        _fail(f"error: {exc}")
    click.echo(text, nl=False)


@cli.group()
def new() -> None:
    """Start something new from a template."""


@new.command("plugin")
@click.option("--no-input", is_flag=True, help="Do not prompt; use the defaults and --option values.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Answer a template question (repeatable).")
@click.option("--output-dir", type=click.Path(file_okay=False), default=".", show_default=True, help="Where to create the project.")
def new_plugin(no_input: bool, options: Sequence[str], output_dir: str) -> None:
    """Create a plugin distribution (tests, README, CI included) from the bundled template."""
    from orchestrator.scaffold import ScaffoldError, new_plugin_project

    answers = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            _fail(f"error: --option {option!r}: expected KEY=VALUE, e.g. --option plugin_name=shopify")
        answers[key.strip()] = value
    try:
        project = new_plugin_project(answers, output_dir=output_dir, no_input=no_input)
    except ScaffoldError as exc:
        _fail(f"error: {exc}")
    click.echo(f"created {project}")
    click.echo(f"next: cd {project} && python -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest")


def main(argv: Sequence[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="orchestrator")
