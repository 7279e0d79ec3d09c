"""Trace and span ids derived from what a span is, not drawn at random.

A run's pipelines may run in other processes (the ``process`` executor) or on other machines (the
``dask`` executor), each rebuilding the plugins from entry points: nothing but the job travels
there. Deriving the trace id from the run id makes every process put its spans in the run's one
trace with no context shipped, and deriving each span id from its place in the run (run id,
pipeline, phase, step, and how many times that place started in this process) makes a span's id
known to whoever knows its place, such as the children that name it as their parent.

This module imports only :mod:`hashlib`: it is what the plugin needs before it decides whether
to load the OpenTelemetry SDK at all.
"""

from __future__ import annotations

from hashlib import blake2b

#: separates the parts of a place so that ("ab", "c") and ("a", "bc") hash apart
_SEPARATOR = "\x1f"


def _digest(parts: tuple[str, ...], size: int) -> int:
    value = int.from_bytes(blake2b(_SEPARATOR.join(parts).encode(), digest_size=size).digest(), "big")
    return value or 1  # zero is OpenTelemetry's invalid id


def trace_id(run_id: str) -> int:
    """The 128-bit trace id of run ``run_id``, the same in every process of the run."""
    return _digest(("trace", run_id), 16)


def span_id(run_id: str, *place: str) -> int:
    """The 64-bit span id of a place in run ``run_id``: ``(pipeline,)``, ``(pipeline, phase,
    attempt)`` or ``(pipeline, phase, step, attempt)``, where ``attempt`` is the pipeline's."""
    return _digest(("span", run_id, *place), 8)
