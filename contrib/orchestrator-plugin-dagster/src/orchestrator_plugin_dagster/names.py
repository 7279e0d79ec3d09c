"""Dagster's names for a file's pipelines. A Dagster name holds letters, digits and ``_`` only,
where a pipeline's name may also hold ``-`` and ``.``: those become ``_``, and two pipelines that
would then share a name are refused, naming both."""

from __future__ import annotations

import re

from orchestrator.adapters import FileShape
from orchestrator.errors import ConfigError, Problem

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_]")


def dagster_name(name: str) -> str:
    """``name`` with every character Dagster's names cannot hold replaced with ``_``."""
    return _NOT_IN_NAME.sub("_", name)


def asset_names(shape: FileShape) -> dict[str, str]:
    """Each pipeline's asset name, by pipeline; :class:`ConfigError` when two would be the same."""
    names: dict[str, str] = {}
    taken: dict[str, str] = {}
    problems = []
    for pipeline in shape.pipelines:
        name = dagster_name(pipeline.name)
        if name in taken:
            problems.append(Problem(str(shape.path), 0, f"$.pipelines.{pipeline.name}", (
                f"pipelines {taken[name]!r} and {pipeline.name!r} would both be the Dagster asset {name!r} "
                "(Dagster names hold letters, digits and '_'); rename one of them"
            )))
        taken[name] = pipeline.name
        names[pipeline.name] = name
    if problems:
        raise ConfigError(problems)
    return names
