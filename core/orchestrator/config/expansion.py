"""A config's includes merged and its templates instantiated, before anything else looks at it.

Substitution, the schema, the rules and the plan all see plain pipelines in one mapping; where
each part was written is kept in :class:`~orchestrator.config.origins.Origins`, which the checker
uses to point every later problem at the right file and line. A config that uses neither
``include:`` nor ``templates:`` (nor ``uses:``) never imports this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.config.includes import gather, merge
from orchestrator.config.limits import count_values
from orchestrator.config.origins import Origins
from orchestrator.config.templates import declared, instantiate
from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from orchestrator.config.validation import Checker


def expand(data: dict[str, Any], checker: Checker, base_dir: Path | None = None) -> dict[str, Any]:
    """The config with includes merged and templates instantiated; raises ConfigError with every
    problem of the includes and templates, which must be fixed before the pipelines can be judged.
    The main file's includes start from ``base_dir`` when it is given (a config given as a mapping)."""
    origins = Origins(checker.source)
    checker.origins = origins
    merged = merge(gather(checker.source, data, checker, base_dir), origins, checker)
    if checker.problems:
        raise ConfigError(checker.problems)
    raw_templates = merged.pop("templates", None)
    templates = declared(raw_templates, checker)
    pipelines = merged.get("pipelines")
    if isinstance(pipelines, dict):
        names = [str(n) for n in raw_templates] if isinstance(raw_templates, dict) else []
        merged["pipelines"] = instantiate(pipelines, templates, names, origins, checker, count_values(merged))
    if checker.problems:
        raise ConfigError(checker.problems)
    return merged
