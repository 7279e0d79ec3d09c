"""The span id of a step, derived from the run's trace context and the step's place in it.

The run's spans are made in the run's own process, from its event stream (:mod:`.spans`); a
step's own code may run in another process (a ``process`` or ``dask`` worker) and create spans
there, such as an instrumented HTTP client's. For those to be children of the step's span, the
worker must know that span's id while the step runs, before the event that opens the span has
even reached the run's process. Both sides know the run's ``traceparent`` (the core ships it
with every job) and the step's place (pipeline, phase, step, and how many times that step started
in this pipeline run, counting runs again by the pipeline's own ``retry:``), so both derive the
same id from them, with nothing sent back.

This module imports only :mod:`hashlib`: the hooks of a worker use it before anything of
OpenTelemetry is loaded.
"""

from __future__ import annotations

from hashlib import blake2b

#: separates the parts of a place so that ("ab", "c") and ("a", "bc") hash apart
_SEPARATOR = "\x1f"


def step_span_id(traceparent: str, pipeline: str, phase: str, step: str, occurrence: int) -> int:
    """The 64-bit span id of the ``occurrence``-th start (from 1) of ``step`` in run
    ``traceparent``; never 0, OpenTelemetry's invalid id."""
    place = _SEPARATOR.join(("step", traceparent, pipeline, phase, step, str(occurrence)))
    return int.from_bytes(blake2b(place.encode(), digest_size=8).digest(), "big") or 1
