"""Implements a hook with an argument its spec does not have, and a misspelt hook name."""

from orchestrator import hookimpl


@hookimpl
def register_extractors(register, registry):
    register("badhook.never", lambda ctx: [])


@hookimpl
def register_extractor(register):
    register("badhook.typo", lambda ctx: [])
