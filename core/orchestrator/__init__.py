"""pipeline-orchestrator: ETL / ELT / ETLT pipelines described in YAML, run by plugins.

Plugin authors need only :data:`hookimpl` from here; everything else is imported where it is used,
which keeps ``import orchestrator`` (and the CLI's start-up) cheap.
"""

from orchestrator.plugins.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
