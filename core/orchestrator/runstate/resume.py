"""``orchestrator run --resume [RUN_ID]`` and ``--run-id ID``: which recorded run goes on, and
whether it may.

A run may be resumed when it did not succeed and was started from the same config file. It is
refused when the file or its parameters changed since (the checkpoints and committed loads belong
to the old config, and mixing two configs' outputs is how rows get lost or doubled), when the
process that ran it may still be running, or when a later run of the file succeeded (its data
would be loaded over the newer run's), unless ``--force`` says that is known and wanted.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import OrchestratorError
from orchestrator.runstate.progress import Progress, config_hash

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.runstate.history.sql import SQLState

#: ``--resume`` without a run id: the newest run of this config that did not succeed
LATEST = "latest"


class ResumeError(OrchestratorError):
    """The run cannot be resumed; the message says why and what to do instead."""


def resumable(store: SQLState, plan: Plan, wanted: str, *, force: bool, config: str) -> tuple[str, Progress]:
    """The run id to continue and what it completed, or :class:`ResumeError`."""
    source = str(plan.source.resolve())
    if wanted == LATEST:
        run = store.latest_unfinished(source)
        if run is None:
            raise ResumeError(f"--resume: no failed or interrupted run of {config} in its history; run it without --resume")
    else:
        run = store.run(wanted)
        if run is None:
            raise ResumeError(f"--resume {wanted}: no such run ('orchestrator runs --config {config}' lists the recorded ones)")
        if run["config"] != source:
            raise ResumeError(f"--resume {wanted}: that run is of {run['config']}, not {config}")
        if run["status"] == "succeeded":
            raise ResumeError(f"--resume {wanted}: that run succeeded, there is nothing to resume; run {config} without --resume")
    run_id = run["run_id"]
    if run["status"] == "running" and not force and process_may_run(run):
        raise ResumeError(
            f"--resume {run_id}: that run may still be running (process {run['pid']} on {run['host']}); two "
            "attempts of one run at once would fail each other's loads. Wait for it to end or stop it; if it "
            "is gone, add --force"
        )
    newer = store.newer_success(source, run["started"])
    if newer is not None and not force:
        raise ResumeError(
            f"--resume {run_id}: run {newer['run_id']} of {config}, started after it, succeeded; resuming the older "
            "run would load its data over the newer run's. Add --force if that is what you want"
        )
    if run["config_hash"] != config_hash(plan) and not force:
        raise ResumeError(
            f"--resume {run_id}: {config} or its parameters changed since that run; resuming would mix the "
            "outputs of two configs. Run it without --resume to start afresh, or add --force to resume anyway"
        )
    return run_id, store.progress(run_id)


def continued(store: SQLState, plan: Plan, run_id: str, *, force: bool, config: str) -> Progress | None:
    """What a run id supplied from outside (``--run-id``, ``run(run_id=)``) goes on from: None for
    an id not in the history (a new run), else what the recorded run completed, so it is continued.

    An engine that retries a task (Airflow, Argo...) starts the same command with the same id
    again: continuing the run makes the retry go on from its checkpoints and skip the loads that
    completed instead of loading twice, and a run that already succeeded is a success that runs
    nothing (its pipelines are reused), since an engine may retry a task whose run ended well but
    whose report it lost. The rules of ``--resume`` apply but one: a later success of the file
    does not stop it, as the engine, not the history, orders its runs (runs of different logical
    dates do not load over each other)."""
    run = store.run(run_id)
    if run is None:
        return None
    source = str(plan.source.resolve())
    if run["config"] != source:
        raise ResumeError(f"--run-id {run_id}: that id is a run of {run['config']}, not {config}; choose another id")
    if run["status"] == "running" and not force and process_may_run(run):
        raise ResumeError(
            f"--run-id {run_id}: that run may still be running (process {run['pid']} on {run['host']}); two "
            "attempts of one run at once would fail each other's loads. Wait for it to end or stop it; if it "
            "is gone, add --force"
        )
    if run["config_hash"] != config_hash(plan) and not force:
        raise ResumeError(
            f"--run-id {run_id}: {config} or its parameters changed since that run started; going on with it "
            "would mix the outputs of two configs. Choose a new run id to start afresh, or add --force to go on anyway"
        )
    return store.progress(run_id)


def forget_earlier_checkpoints(store: SQLState, config: str, run_id: str, folder: Path) -> None:
    """Run ``run_id`` of ``config`` succeeded: the checkpoints of its earlier runs can no longer
    be resumed without ``--force`` (their data would go over the newer run's), so they go. Runs
    that may still be running keep theirs; dead letters stay. Only runs not retired before are
    looked at, so the work does not grow with the history."""
    from orchestrator.runstate.checkpoints import remove_run
    from orchestrator.runstate.layout import run_folder, valid_run_id

    retired = []
    for run in store.unretired_before(config, run_id):
        if run["status"] == "running" and process_may_run(run):
            continue
        if valid_run_id(run["run_id"]) and run_folder(folder, run["run_id"]).exists():
            remove_run(run_folder(folder, run["run_id"]))
        retired.append(run["run_id"])
    if retired:
        store.retire(retired)


def process_may_run(run: dict[str, Any]) -> bool:
    """Whether the process that recorded a 'running' run may still run: on this machine, whether
    its process exists; on another one (a shared PostgreSQL history), it cannot be told from here."""
    if run.get("pid") is None:  # recorded by a version that did not say
        return False
    if run.get("host") != socket.gethostname():
        return True
    try:
        os.kill(run["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return bool(run["pid"] != os.getpid())
