"""Writes one line per finished step (process id, pipeline, step) to $HOOKFILE_PATH, so tests can
see in which process lifecycle hooks fired; also registers a step that cannot be pickled."""

import os

from orchestrator import hookimpl


def burn(ctx, rows, seconds=0.3):
    """A CPU-bound transform: spins for ``seconds``, then tags rows with this process's id."""
    import time

    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        pass
    return [{**row, "pid": os.getpid()} for row in rows]


@hookimpl
def register_transformers(register):
    register("hookfile.burn", burn, schema={"type": "object", "properties": {"seconds": {"type": "number"}}})
    register("hookfile.unpicklable", lambda ctx, rows: rows, schema={"type": "object"})


@hookimpl
def after_step_run(context, rows, elapsed):
    path = os.environ.get("HOOKFILE_PATH")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{os.getpid()} {context.pipeline} {context.step_id}\n")
