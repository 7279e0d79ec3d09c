"""The plugin's entry point: it offers its hooks (:mod:`.hooks`) only when the environment
names an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``):
the event consumer everywhere, the step hooks only in worker processes, where no consumer runs
(a hook call per step is most of what tracing would cost a step of the run's own process).

Without one, this module defines no hook: the plugin registers no event consumer and the engine,
which calls only the hooks some plugin implements, makes no call for it. Installed but not
configured, it costs its import (this module and :mod:`os`) and nothing per run or step. It is
imported at every start of the orchestrator and in every worker process, each deciding from its
own environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

#: the variables that turn export on (the OTLP exporter's own: it reads them itself)
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def export_enabled(env: Mapping[str, str]) -> bool:
    """Whether the environment names an OTLP endpoint to send traces to."""
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


def in_worker() -> bool:
    """Whether this process was started by :mod:`multiprocessing`: a worker of the ``process``
    executor, or a Dask worker started by its nanny (the default). Looked up without importing
    :mod:`multiprocessing` where nothing did: a process that never imported it is no such worker."""
    started_by = sys.modules.get("multiprocessing")
    return started_by is not None and started_by.parent_process() is not None


if export_enabled(os.environ):
    from orchestrator_plugin_opentelemetry.hooks import register_event_consumers  # noqa: F401 - offered

    if in_worker():  # in the run's own process, the consumer makes the step's span current itself
        from orchestrator_plugin_opentelemetry.hooks import after_pipeline_run, before_step_run  # noqa: F401
