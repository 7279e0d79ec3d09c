"""``orchestrator runs stats``: per pipeline, how often it ran and succeeded, how long it takes,
what it used and cost, and whether it is getting slower (the figures are the history's, see
:mod:`orchestrator.runstate.history.stats`)."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from orchestrator.cli import measures

if TYPE_CHECKING:
    from orchestrator.runstate.history.sql import SQLState

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class SinceError(ValueError):
    """``--since`` is not a span of time."""


def since(text: str | None, now: float | None = None) -> float | None:
    """The start of the window ``--since`` gives (``90s``, ``30m``, ``12h``, ``7d``, ``2w``)."""
    if text is None:
        return None
    found = _SPAN.match(text)
    if found is None:
        raise SinceError(f"--since {text!r}: expected a number and a unit (s, m, h, d or w), e.g. --since 7d")
    return (time.time() if now is None else now) - float(found[1]) * _SECONDS[found[2]]


def stats_text(store: SQLState, config: str | None, pipeline: str | None, start: float | None, *, as_json: bool) -> str:
    """The statistics table (or JSON) of the pipelines the filter selects."""
    import json

    found = store.pipeline_stats(config, pipeline, start)
    if as_json:
        return json.dumps(found, indent=2) + "\n"
    if not found:
        return "no finished pipeline runs match\n"
    several = len({entry["config"] for entry in found}) > 1
    costed = any(entry["cost"] is not None for entry in found)
    header = ("pipeline", "runs", "success", "p50", "p90", "p99", "max", "mean cpu", "peak rss", "rows")
    table: list[tuple[str, ...]] = [(*header, *(("cost",) if costed else ()), "trend", *(("config",) if several else ()))]
    for entry in found:
        row = (
            entry["pipeline"], str(entry["runs"]), measures.percent(entry["success_rate"]),
            *(measures.seconds(entry[key]) for key in ("p50", "p90", "p99", "max")),
            measures.cpu(entry["mean_cpu"]), measures.size(entry["peak_rss"]), measures.count(entry["rows"]),
            *((measures.cost(entry["cost"], entry["currency"]),) if costed else ()), measures.trend(entry["trend"]),
        )
        table.append((*row, *((entry["config"],) if several else ())))
    lines = [measures.render(table)]
    if not several:
        lines.append(f"config {found[0]['config']}")
    lines.append(
        "durations are of succeeded runs; trend: the median of the latest runs against the runs before them (+ is slower)"
    )
    return "\n".join(lines) + "\n"

