"""pipeline-orchestrator: ETL / ELT / ETLT pipelines described in YAML, run by plugins.

Plugin authors need only :data:`hookimpl` from here. :func:`run` and :func:`arun` (running a config
from Python, see :mod:`orchestrator.api`) are imported on first use, which keeps
``import orchestrator`` (and so every plugin's import, and the CLI's start-up) cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.plugins.hookspecs import hookimpl
from orchestrator.version import __version__

if TYPE_CHECKING:
    from orchestrator.api import arun, run

__all__ = ["__version__", "arun", "hookimpl", "run"]


def __getattr__(name: str) -> Any:
    """``orchestrator.run`` and ``orchestrator.arun``, imported when first asked for."""
    if name in ("run", "arun"):
        from orchestrator import api

        return getattr(api, name)
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
