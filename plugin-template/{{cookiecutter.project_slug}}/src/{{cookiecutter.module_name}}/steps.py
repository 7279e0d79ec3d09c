"""The steps of {{ cookiecutter.project_slug }}. Replace the examples with your own; keep the
signatures: pipeline-orchestrator calls each step as described in its docstring."""

import json
from collections.abc import Iterable, Iterator
from typing import Any

from orchestrator.errors import StepError
{%- if cookiecutter.extract %}


def read(ctx: Any, count: int, batch_size: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """Extract: called as ``read(ctx, **args)``; yields batches (lists of row dicts), so large
    inputs stream with flat memory. A step may also return one list instead."""
    for start in range(0, count, batch_size):
        yield [{"n": n, "pipeline": ctx.pipeline} for n in range(start, min(start + batch_size, count))]
{%- endif %}
{%- if cookiecutter.transform %}


def tag(ctx: Any, rows: list[dict[str, Any]], field: str = "source", value: str = "{{ cookiecutter.plugin_id }}") -> list[dict[str, Any]]:
    """Transform: called as ``tag(ctx, batch, **args)`` once per batch; returns the new batch.
    Batches are shared with other steps, so build new rows rather than changing them."""
    if not all(isinstance(row, dict) for row in rows):
        raise StepError("{{ cookiecutter.plugin_id }}.tag expects rows as mappings (dicts)")
    return [{**row, field: value} for row in rows]
{%- endif %}
{%- if cookiecutter.load %}


def write(ctx: Any, batches: Iterable[Any], path: str) -> int:
    """Load: called as ``write(ctx, batches, **args)``; writes every batch and returns the number
    of rows written. Relative paths are relative to the pipeline file (``ctx.path``)."""
    target = ctx.path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(target, "w", encoding="utf-8") as handle:
        for batch in batches:
            if not isinstance(batch, list) or not all(isinstance(row, dict) for row in batch):
                raise StepError(f"{{ cookiecutter.plugin_id }}.write expects batches of row dicts, got {type(batch).__name__}")
            handle.writelines(json.dumps(row) + "\n" for row in batch)
            rows += len(batch)
    return rows
{%- endif %}
{%- if cookiecutter.transform_at_load %}


def summarise(ctx: Any, path: str, summary: str) -> int:
    """Transform at load: called as ``summarise(ctx, **args)`` after every load succeeded; acts
    inside the target (here: files) and returns the rows it looked at."""
    source = ctx.path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise StepError(f"{source} does not exist; a load step must write it first") from None
    ctx.path(summary).write_text(json.dumps({"rows": len(lines)}), encoding="utf-8")
    return len(lines)
{%- endif %}
