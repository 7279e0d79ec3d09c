"""Where each part of an expanded config was written, so a problem found in it points there.

After ``include:`` and ``templates:`` are expanded (:mod:`.expansion`), the config the validators see
is one mapping, but its parts come from several files: a pipeline from an included file, a
templated pipeline's body from the template. Validation reports problems by their path in that
mapping; :class:`Origins` turns such a path into the file, the line and the path where the mistake
was written, and the place that used it (``(used by pipeline.yaml:12: $.pipelines.orders.uses)``).

A config without includes and templates has no origins at all: nothing here runs for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.config.yamlsource import PathPart, YamlSource, json_path

#: how deep a registered prefix can be: ``("pipelines", NAME, KEY)``
_DEEPEST = 3


@dataclass(frozen=True, slots=True)
class Where:
    """A path in one file: what a "used by" or "included by" note points at."""

    source: YamlSource
    path: tuple[PathPart, ...]

    def __str__(self) -> str:
        return f"{self.source.name}:{self.source.line_of(self.path)}: {json_path(self.path)}"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the part of the expanded config under a prefix was written: ``at`` (a file and the
    path there that the prefix stands for), and what brought it in (``how`` ``by``)."""

    at: Where
    by: Where | None = None
    how: str = "used by"

    def note(self) -> str:
        """The text appended to a message about this part (line lookups happen only here)."""
        return f" ({self.how} {self.by})" if self.by is not None else ""


class Origins:
    """Prefixes of paths in the expanded config (``("pipelines", "orders")``, up to three parts
    deep), each with its :class:`Origin`; the longest registered prefix of a path wins."""

    def __init__(self, main: YamlSource) -> None:
        self.main = main
        self._by_prefix: dict[tuple[PathPart, ...], Origin] = {}
        #: every file read, the main one first (what the history fingerprints)
        self.files: list[YamlSource] = [main]

    def add(self, prefix: Sequence[PathPart], origin: Origin) -> None:
        self._by_prefix[tuple(prefix)] = origin

    def get(self, prefix: Sequence[PathPart]) -> Origin | None:
        return self._by_prefix.get(tuple(prefix))

    def locate(self, path: Sequence[PathPart]) -> tuple[YamlSource, list[PathPart], str]:
        """The file, the path in it, and the note to add, for ``path`` of the expanded config."""
        for depth in range(min(len(path), _DEEPEST), 0, -1):
            origin = self._by_prefix.get(tuple(path[:depth]))
            if origin is not None:
                return origin.at.source, [*origin.at.path, *path[depth:]], origin.note()
        return self.main, list(path), ""
