"""The plugin's entry point: it offers its hooks (:mod:`.hooks`) only when the environment
names an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``).

Without one, this module defines no hook: the plugin registers no event consumer and the engine,
which calls only the hooks some plugin implements, makes no call for it. Installed but not
configured, it costs its import (this module and :mod:`os`) and nothing per run or step. It is
imported at every start of the orchestrator and in every worker process, each deciding from its
own environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: the variables that turn export on (the OTLP exporter's own: it reads them itself)
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def export_enabled(env: Mapping[str, str]) -> bool:
    """Whether the environment names an OTLP endpoint to send traces to."""
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


if export_enabled(os.environ):
    from orchestrator_plugin_opentelemetry.hooks import (  # noqa: F401 - offered to the plugin manager
        after_pipeline_run,
        before_step_run,
        register_event_consumers,
    )
