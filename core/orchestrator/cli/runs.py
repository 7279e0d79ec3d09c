"""``orchestrator runs``: what ran, how long, how many rows, what failed and why; and pruning
old runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli.common import fail, load_plan, load_plugins

if TYPE_CHECKING:
    from orchestrator.runstate.history.sql import SQLState


@click.command()
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
    """The run history: list runs (of --config's file only, when given), show one run's pipelines
    and step attempts (the latest run without RUN_ID), or prune old runs."""
    if action == "show" and run_id:
        from orchestrator.runstate.layout import RunIdError, check_run_id

        try:
            check_run_id(run_id)
        except RunIdError as exc:
            fail(f"error: orchestrator runs show: {exc}")
    if action == "prune" and run_id:
        fail(f"error: orchestrator runs prune: removes runs by age and count, not by id ({run_id!r})")
    if action != "prune" and (keep_days or keep_runs or dry_run):
        fail("error: --keep-days, --keep-runs and --dry-run go with 'orchestrator runs prune'")
    try:
        if action == "prune":
            text = prune_history(config, state_path, keep_days, keep_runs, dry_run=dry_run, as_json=as_json)
        else:
            store = history_store(config, state_path, load_plugins if config else None, load_plan)
            only = _config_file(config)
            try:
                if action == "show":
                    text = show_run(store, run_id or _latest(store, only), as_json=as_json)
                else:
                    text = list_runs(store, limit, as_json=as_json, config=only)
            finally:
                store.close()
    except HistoryError as exc:
        fail(f"error: {exc}")
    click.echo(text, nl=False)


#: log lines ``runs show`` prints, the last ones of the run
LOG_LINES_SHOWN = 20


class HistoryError(Exception):
    """The history cannot be shown; the message says why and what to do. The command prints it
    (a plain exception: this module is imported at every start of the CLI, and imports nothing but
    click until a command runs)."""


def history_store(
    config: str | None, state: str | None, load_plugins: Callable[[], Any] | None, load_plan: Callable[..., Any]
) -> SQLState:
    """The run history: ``--state`` (a store URL such as ``postgresql://...``, or a SQLite file),
    else the store ``--config``'s file names, else the default location in the current directory."""
    from pathlib import Path

    from orchestrator.runstate.history import open_state
    from orchestrator.runstate.history.sql import StateError
    from orchestrator.runstate.layout import DEFAULT_STATE, SQLITE, sqlite_file

    if state:
        url = state if "://" in state else SQLITE + state
        base = Path.cwd()
    elif config and load_plugins is not None:
        plan = load_plan(config, (), load_plugins())
        if plan.state == "off":
            raise HistoryError(f"{config} says 'state: off': its runs are not recorded")
        url, base = plan.state, plan.base_dir
    else:
        url, base = DEFAULT_STATE, Path.cwd()
    database = sqlite_file(url, base)
    if database is not None and not database.is_file():
        where = url.removeprefix(SQLITE)
        raise HistoryError(f"no run history at {where}; run a pipeline first, or pass --config PIPELINE.yaml or --state PATH")
    try:
        return open_state(url, base)
    except StateError as exc:
        raise HistoryError(str(exc)) from None


def _config_file(config: str | None) -> str | None:
    """How the history names ``--config``'s file (runs are recorded by the resolved path)."""
    from pathlib import Path

    return str(Path(config).resolve()) if config else None


def _latest(store: SQLState, config: str | None) -> str:
    """The id of the latest run (of ``config``, when given): ``runs show`` without a RUN_ID."""
    latest = store.runs(1, config)
    if not latest:
        of = f" of {config}" if config else ""
        raise HistoryError(f"no run{of} in the history yet; run the pipeline file first")
    run_id: str = latest[0]["run_id"]
    return run_id


def list_runs(store: SQLState, limit: int, *, as_json: bool, config: str | None = None) -> str:
    """The latest runs, of pipeline file ``config`` only when given (several files may share a
    store: the default one of a folder, or a ``state:`` they name alike)."""
    import json

    runs = store.runs(limit, config)
    if as_json:
        return json.dumps(runs, indent=2) + "\n"
    table = [("run", "status", "started", "elapsed", "pipelines", "config")]
    for run in runs:
        pipelines = f"{run['pipelines']}" + (f" ({run['not_succeeded']} not succeeded)" if run["not_succeeded"] else "")
        table.append((run["run_id"], _status(run), _when(run["started"]), _seconds(run["elapsed"]), pipelines, run["config"]))
    return _render(table)


def show_run(store: SQLState, run_id: str, *, as_json: bool) -> str:
    import json

    run = store.run(run_id)
    if run is None:
        raise HistoryError(f"no run {run_id!r} in the history; 'orchestrator runs' lists the recorded ones")
    pipelines = store.pipelines(run_id)
    phases = store.phases(run_id)
    steps = store.steps(run_id)
    letters = _dead_letters(store, run)
    logs = store.last_logs(run_id, LOG_LINES_SHOWN)
    if as_json:
        shown = {"run": run, "pipelines": pipelines, "phases": phases, "steps": steps, "dead_letters": letters, "logs": logs}
        return json.dumps(shown, indent=2) + "\n"
    lines = [
        f"run {run['run_id']} {_status(run)} in {_seconds(run['elapsed'])}, started {_when(run['started'])}",
        f"config {run['config']} (sha256 {run['config_hash'][:12]}), params {run['params']}",
        "",
    ]
    table: list[tuple[str, ...]] = [("pipeline", "status", "attempts", "elapsed", "error")]
    table += [(p["pipeline"], p["status"], str(p["attempts"]), _seconds(p["elapsed"]), p["error"] or "") for p in pipelines]
    lines.append(_render(table))
    table = [("pipeline", "phase", "status", "elapsed")]
    table += [(p["pipeline"], p["phase"], p["status"], _seconds(p["elapsed"])) for p in phases]
    lines.append(_render(table))
    table = [("pipeline", "phase", "step", "plugin", "attempt", "status", "rows in", "rows", "rejected", "elapsed", "error")]
    table += [
        (s["pipeline"], s["phase"], s["step"], s["plugin"], str(s["attempt"]), s["status"], _count(s["rows_in"]),
         _count(s["rows"]), "-" if not s["rejected"] else str(s["rejected"]), _seconds(s["elapsed"]), s["error"] or "")
        for s in steps
    ]
    lines.append(_render(table))
    if logs:
        lines.append(f"log lines (the last {LOG_LINES_SHOWN}; GET /api/runs/{run_id}/logs of orchestrator serve has them all)")
        for line in logs:
            where = "/".join(part for part in (line["pipeline"], line["step"]) if part) or "run"
            lines.append(f"  {_when(line['time'])}  {where}  {line['level']}: {line['message']}")
        lines.append("")
    if letters:
        lines.append(f"dead letters (to run them again: orchestrator run {run['config']} --replay-dead-letters {run_id})")
        table = [("pipeline", "phase", "step", "rows", "file")]
        table += [(d["pipeline"], d["phase"], d["step"], str(d["rows"]), d["file"]) for d in letters]
        lines.append(_render(table))
    return "\n".join(lines)


def _dead_letters(store: SQLState, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows the run dead-lettered, per pipeline and step, with the file they are in."""
    from orchestrator.runstate.deadletters import DeadLetterError, counts
    from orchestrator.runstate.history.sqlite import SQLiteState
    from orchestrator.runstate.layout import recorded_dead_letter_folder, valid_run_id

    if not valid_run_id(run["run_id"]):  # recorded before ids were checked: it has no folder of its own
        return []
    database = store.path if isinstance(store, SQLiteState) else None
    try:
        return counts(recorded_dead_letter_folder(database, run["config"]), run["run_id"])
    except DeadLetterError as exc:
        raise HistoryError(str(exc)) from None


def _status(run: dict[str, Any]) -> str:
    """A run's status; a run recorded as running whose process is gone (killed, or its machine
    rebooted) says so, as ``orchestrator run --resume`` continues it."""
    from orchestrator.runstate.resume import process_may_run

    if run["status"] == "running" and not process_may_run(run):
        return "running (process gone)"
    return str(run["status"])


def _count(rows: int | None) -> str:
    return "-" if rows is None else str(rows)


def _render(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "".join("  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip() + "\n" for row in rows)


def _when(timestamp: float | None) -> str:
    from datetime import datetime

    return "-" if timestamp is None else datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def prune_history(
    config: str | None, state: str | None, keep_days: int | None, keep_runs: int | None, *, dry_run: bool,
    as_json: bool,
) -> str:
    """Prune (or, ``dry_run``, list what would go) and say what was removed: by ``--keep-days`` and
    ``--keep-runs``, or else by the ``history:`` setting of ``--config``'s file. Without
    ``--config`` every pipeline file in the store is pruned, each by the same limits. What stays
    whatever the limits say, and why, is :mod:`orchestrator.runstate.retention`'s to decide."""
    import json

    from orchestrator.config.model import Retention
    from orchestrator.runstate.retention import expired, prune

    plan = load_plan(config, (), load_plugins()) if config else None
    limits = Retention(keep_days, keep_runs) if keep_days or keep_runs else plan.history if plan else None
    if limits is None:
        where = f"; {config} has no history: setting" if config else ""
        raise HistoryError(f"say how much to keep: --keep-days N, --keep-runs N, or --config FILE with a history: setting{where}")
    store = history_store(config, state, (lambda: None) if plan else None, lambda *_: plan)
    try:
        configs = [str(plan.source.resolve())] if plan else store.configs()
        removed = {name: (expired if dry_run else prune)(store, name, limits) for name in configs}
    finally:
        store.close()
    if as_json:
        runs = [{key: run[key] for key in ("run_id", "config", "status", "started")} for found in removed.values() for run in found]
        return json.dumps({"dry_run": dry_run, "runs": runs}, indent=2) + "\n"
    lines = []
    for name, runs in removed.items():
        if not runs:
            continue
        count = f"{len(runs)} run{'' if len(runs) == 1 else 's'} of {name}"
        if dry_run:
            lines.append(f"would remove {count}:")
            lines += [f"  {run['run_id']}  {run['status']}  {_when(run['started'])}" for run in runs]
        else:
            lines.append(f"removed {count}, with {'its' if len(runs) == 1 else 'their'} checkpoints and dead letters")
    return "\n".join(lines or ["nothing to remove"]) + "\n"

