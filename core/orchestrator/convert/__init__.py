"""Configs of other tools turned into this one's format (``orchestrator convert``).

One module group per tool: :mod:`.pipeline_flow` (the system this project succeeds) reads its
YAML, writes an equivalent config and names, with file and line, everything that has no
equivalent. Converters only read and write files; the result is checked by ``validate`` like any
other config. Nothing here is imported unless ``orchestrator convert`` runs.
"""
