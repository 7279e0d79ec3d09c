"""A run's W3C trace context: one ``traceparent`` per run, made where the run starts and carried
with every pipeline into whatever process runs it.

The core creates no span and imports no tracing library; it only gives each run the identity a
tracer needs so that one run is one trace across processes: the trace id, and the span id its
run span takes. An event consumer that traces (``register_event_consumers``) builds its run span
with these ids from the run's :class:`~orchestrator.consumers.RunStart`; the lifecycle hooks of a
worker read the same value from the context they are given (``context.trace_context``) and can
make a step's own spans children of the run's. Format: https://www.w3.org/TR/trace-context/.
"""

from __future__ import annotations

import os
import re

#: ``version-trace_id-parent_id-flags``, lowercase hex, as the W3C recommendation writes it
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def new_trace_context() -> dict[str, str]:
    """A fresh context for a new run: random trace and span ids, flagged sampled (whether spans
    are kept is for the tracer's own sampler to say)."""
    return {"traceparent": f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"}


def parse_traceparent(value: str) -> tuple[int, int, int] | None:
    """``(trace id, span id, flags)`` of a ``traceparent`` header, or None when it is not one
    (all-zero ids are invalid too)."""
    found = _TRACEPARENT.match(value.strip())
    if found is None:
        return None
    trace_id, span_id, flags = (int(part, 16) for part in found.groups())
    return None if not trace_id or not span_id else (trace_id, span_id, flags)
