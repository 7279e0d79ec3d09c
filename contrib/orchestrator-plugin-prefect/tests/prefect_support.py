"""What the tests read back after a flow run: Prefect's own record of its task runs (from the
temporary server, as its UI would show them)."""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import TaskRun
from prefect.states import State


def task_runs(flow_state: State[Any]) -> dict[str, TaskRun]:
    """The task runs of the flow run that ended in ``flow_state``, by name (the pipeline's)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flow_run_id = flow_state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name: run for run in runs}
