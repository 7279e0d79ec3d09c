"""The results: one row per measured figure, printed as a table and saved as JSON.

A row states its own target, so the verdict is computed in one place and the JSON carries
everything needed to re-check it (medians, raw samples, the commands' meaning in ``note``).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

UNIT_FORMATS = {"s": "{:.3f} s", "MiB": "{:.1f} MiB", "us": "{:.2f} µs"}
UNIT_NAMES = {"s": "s", "MiB": "MiB", "us": "µs"}


@dataclass(frozen=True, slots=True)
class Target:
    """What a row must reach: ``ours <= limit`` (in the row's unit), ``ours / baseline <= limit``,
    or ``ours - baseline <= limit`` (an added cost with an absolute budget, such as start-up time
    with plugins installed against the same command without them)."""

    limit: float
    of: Literal["ours", "ratio", "difference"] = "ours"

    def text(self, unit: str) -> str:
        if self.of == "ratio":
            return f"≤ {self.limit:.2f}× base"  # noqa: RUF001 - the multiplication sign is meant
        if self.of == "difference":
            return f"≤ base + {self.limit:g} {UNIT_NAMES[unit]}"
        return f"≤ {self.limit:g} {UNIT_NAMES[unit]}"

    def met(self, ours: float, baseline: float | None) -> bool:
        if self.of == "ours":
            return ours <= self.limit
        if baseline is None:
            return False
        if self.of == "difference":
            return ours - baseline <= self.limit
        return baseline > 0 and ours / baseline <= self.limit


@dataclass(slots=True)
class Row:
    """One line of the table. ``baseline`` is measured in the same run as ``ours``."""

    figure: str
    label: str
    unit: str
    ours: float
    baseline: float | None
    baseline_label: str
    target: Target | None = None
    note: str = ""
    samples: dict[str, Any] = field(default_factory=dict)
    #: where a baseline that was not measured in this run is cited from (its figure is then a
    #: reference, and the verdict says so); empty for a measured baseline
    cited: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline <= 0:
            return None
        return self.ours / self.baseline

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        if self.baseline is None and self.target.of != "ours":
            return "n/a"
        verdict = "ok" if self.target.met(self.ours, self.baseline) else "MISS"
        return f"{verdict} (vs cited)" if self.cited else verdict

    def cells(self) -> list[str]:
        fmt = UNIT_FORMATS[self.unit]
        if self.baseline is None:
            baseline = f"not measured: {self.baseline_label}" if self.baseline_label else "-"
        elif self.cited:
            baseline = f"{fmt.format(self.baseline)} ({self.baseline_label}; CITED from {self.cited}, not measured in this run)"
        else:
            baseline = f"{fmt.format(self.baseline)} ({self.baseline_label})"
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}×"  # noqa: RUF001 - the multiplication sign is meant
        target = "-" if self.target is None else self.target.text(self.unit)
        return [self.label, fmt.format(self.ours), baseline, ratio, target, self.verdict]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = None if self.target is None else {**asdict(self.target), "text": self.target.text(self.unit)}
        data["ratio"] = self.ratio
        data["verdict"] = self.verdict
        return data


HEADERS = ["figure", "ours", "baseline (same run)", "ratio", "target", "verdict"]


def render_table(rows: Sequence[Row], footnotes: Sequence[str] = ()) -> str:
    """A plain-text table, then the notes saying what each figure measures."""
    body = [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in [HEADERS, *body]) for i in range(len(HEADERS))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    out = [line(HEADERS), "-+-".join("-" * w for w in widths)]
    previous = None
    for row, cells in zip(rows, body, strict=True):
        if previous is not None and row.figure != previous:
            out.append("")
        previous = row.figure
        out.append(line(cells))
    out.append("")
    out.append("notes:")
    seen: set[str] = set()
    for row in rows:
        if row.note and row.note not in seen:
            seen.add(row.note)
            out.append(f"  [{row.figure}] {row.note}")
    out.extend(f"  [*] {note}" for note in footnotes)
    return "\n".join(out)


def machine() -> dict[str, Any]:
    """Enough about the machine to compare runs: figures only mean something on similar hardware,
    and a load average near the core count means other work competed with the measurements."""
    return {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def write_json(
    path: Path,
    rows: Sequence[Row],
    *,
    quick: bool,
    elapsed: float,
    skipped: Sequence[str],
    failed: Sequence[str],
    load_at_start: Sequence[float],
) -> None:
    """Save the run (atomically, so a reader never sees half a file)."""
    document = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine() | {"load_average_at_start": [round(x, 2) for x in load_at_start]},
        "quick": quick,
        "elapsed_seconds": round(elapsed, 1),
        "missed": [row.label for row in rows if row.verdict == "MISS"],
        "skipped": list(skipped),
        "failed": list(failed),
        "rows": [row.to_json() for row in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.json")  # git-ignored like the result
    partial.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)
