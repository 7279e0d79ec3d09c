"""The four phases and which pipeline types have them: the one table the rest of the core reads."""

from __future__ import annotations

from typing import Final

EXTRACT: Final = "extract"
TRANSFORM: Final = "transform"
LOAD: Final = "load"
TRANSFORM_AT_LOAD: Final = "transform_at_load"

PHASES: Final = (EXTRACT, TRANSFORM, LOAD, TRANSFORM_AT_LOAD)

#: The phases each pipeline type may have, in execution order.
PHASES_BY_TYPE: Final[dict[str, tuple[str, ...]]] = {
    "ETL": (EXTRACT, TRANSFORM, LOAD),
    "ELT": (EXTRACT, LOAD, TRANSFORM_AT_LOAD),
    "ETLT": (EXTRACT, TRANSFORM, LOAD, TRANSFORM_AT_LOAD),
}

#: Phases every pipeline must have; transform and transform_at_load may be left out.
REQUIRED_PHASES: Final = (EXTRACT, LOAD)

#: Phases whose steps handle rows and may reject some (``on_error``).
ROW_PHASES: Final = (TRANSFORM, LOAD)

#: The registration hook that fills each phase, and the noun used in messages.
REGISTRATION_HOOKS: Final[dict[str, str]] = {
    EXTRACT: "register_extractors",
    TRANSFORM: "register_transformers",
    LOAD: "register_loaders",
    TRANSFORM_AT_LOAD: "register_load_transformers",
}
EXECUTOR_HOOK: Final = "register_executors"
NOTIFIER_HOOK: Final = "register_notifiers"
#: ``orchestrator export NAME``: the commands that write a pipeline file as another engine's files
EXPORTER_HOOK: Final = "register_exporters"
#: the orchestration engines an adapter runs pipeline files on (``orchestrator plugins`` lists them)
ENGINE_HOOK: Final = "register_engines"
#: what receives every event of a run (telemetry, exporters of traces)
CONSUMER_HOOK: Final = "register_event_consumers"
