"""dag-1000 baseline: the same DAG of trivial extract -> load tasks submitted with plain
``client.submit``, each task receiving its parents' futures as arguments, so Dask itself orders
them. Used in-process by bench/executor_figures.py on the same cluster as the orchestrator's dask run.

Usage as a script: python dask_submit.py SCHEDULER_ADDRESS WORKDIR N
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def submit_dag(client: Any, parents: Mapping[str, Sequence[str]], task: Callable[..., Any]) -> None:
    """Submit every task of the DAG (``parents`` in topological order) at once and wait for all."""
    run = uuid.uuid4().hex[:8]
    futures: dict[str, Any] = {}
    for name, deps in parents.items():
        futures[name] = client.submit(task, *(futures[d] for d in deps), key=f"{name}-{run}", pure=False)
    client.gather(list(futures.values()))


def binary_tree(count: int) -> dict[str, tuple[str, ...]]:
    """``p0`` is the root; ``pI`` depends on ``p((I-1)//2)``: a DAG ten levels deep for 1,000."""
    return {f"p{i}": (f"p{(i - 1) // 2}",) if i else () for i in range(count)}


if __name__ == "__main__":
    from distributed import Client

    sys.path.insert(0, sys.argv[2])
    import dag_steps

    with Client(sys.argv[1]) as connected:
        submit_dag(connected, binary_tree(int(sys.argv[3])), dag_steps.pipeline)
