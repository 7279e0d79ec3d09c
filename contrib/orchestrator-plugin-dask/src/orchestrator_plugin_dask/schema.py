"""The options schema of the ``dask`` executor: plain data, so importing it costs nothing."""

from __future__ import annotations

from typing import Any

#: Dask task retries applied when a pipeline's run raised (not a step failure: those are outcomes).
DEFAULT_RETRIES = 2
#: Threads per worker of an on-demand LocalCluster: one pipeline at a time per worker process.
DEFAULT_THREADS_PER_WORKER = 1

OPTIONS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "address": {
            "type": "string",
            "minLength": 1,
            "description": "Address of a running Dask scheduler (tcp://host:8786). Without it, the "
            "scheduler-address of Dask's config (DASK_SCHEDULER_ADDRESS) is used, else a LocalCluster "
            "is started for the run and closed at its end.",
            "examples": ["tcp://scheduler:8786"],
        },
        "workers": {
            "type": "integer",
            "minimum": 1,
            "description": "Workers of the on-demand LocalCluster (default: the number of CPUs). Ignored with an address.",
            "examples": [4],
        },
        "threads_per_worker": {
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_THREADS_PER_WORKER,
            "description": "Threads of each LocalCluster worker, i.e. pipelines it runs at once. Ignored with an address.",
            "examples": [1],
        },
        "processes": {
            "type": "boolean",
            "default": True,
            "description": "LocalCluster workers as separate processes (true) or threads of this process. Ignored with an address.",
            "examples": [True],
        },
        "retries": {
            "type": "integer",
            "minimum": 0,
            "default": DEFAULT_RETRIES,
            "description": "Dask task retries for a pipeline whose run raised unexpectedly; step failures are "
            "reported, never retried. A pipeline whose worker died is re-run by the scheduler.",
            "examples": [2],
        },
        "resources": {
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0},
            "description": "Dask worker resources each pipeline of this executor needs (workers declare them with --resources).",
            "examples": [{"GPU": 1}],
        },
    },
}
