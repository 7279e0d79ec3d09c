"""What a conversion could not carry over, located in the file it read.

A converter keeps going when something has no equivalent: it writes what it can and records a
:class:`Note` (which document of the file, the path in it, what was lost and what to do). The
notes are printed as ``OLD.yaml:LINE: $.path: message``, like validation's problems, so an editor
can jump to each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from orchestrator.config.yamlloader import BaseLoader
from orchestrator.config.yamlsource import PathPart, json_path


@dataclass(frozen=True, slots=True)
class Note:
    document: int
    path: tuple[PathPart, ...]
    message: str


class Located:
    """Line lookup over every document of a multi-document YAML text (composed on first use)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self._documents: list[yaml.Node] | None = None

    def line_of(self, document: int, path: Sequence[PathPart]) -> int:
        if self._documents is None:
            try:
                self._documents = list(yaml.compose_all(self.text, Loader=BaseLoader))
            except yaml.YAMLError:
                self._documents = []
        if document >= len(self._documents):
            return 0
        node = self._documents[document]
        line = node.start_mark.line + 1
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node, line = child, child.start_mark.line + 1
        return line

    def render(self, note: Note) -> str:
        return f"{self.name}:{self.line_of(note.document, note.path)}: {json_path(note.path)}: {note.message}"


def _child(node: yaml.Node, part: PathPart) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                found: yaml.Node = value
                return found
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None
