"""Reading a YAML config safely, and finding the line of any JSON path in it.

The happy path pays nothing for line numbers: the document is loaded straight into plain Python
objects with libyaml. Only when something is wrong is the file composed a second time into a node
tree, from which the line of every offending path is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import ConfigError, Problem

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PathPart = str | int


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading that refuses duplicate keys: with plain YAML the last one silently wins."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(key, seen[key], key_node)
            try:
                seen[key] = key_node
            except TypeError:  # an unhashable key: let the base constructor raise its own error
                break
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping
)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, first: yaml.Node, again: yaml.Node) -> None:
        super().__init__(key)
        self.key, self.first, self.again = key, first, again


class YamlSource:
    """One config file: its display name, its text, and line lookup for JSON paths."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.name = str(path)
        self.text = text
        self._root: yaml.Node | None = None
        self._composed = False

    @classmethod
    def read(cls, path: Path) -> YamlSource:
        """Read the file, turning every way that can fail into a one-line problem."""
        name = str(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise _fail(name, "file not found; check the path (it is relative to the current directory)")
        except IsADirectoryError:
            raise _fail(name, "is a directory, not a YAML file; pass the pipeline file itself")
        except PermissionError:
            raise _fail(name, "permission denied; check the file's permissions")
        except OSError as exc:
            raise _fail(name, f"cannot be read: {exc.strerror or exc}")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail(name, f"is not UTF-8 text (byte {exc.start}); save it as UTF-8 YAML")
        if "\x00" in text:
            raise _fail(name, "contains NUL bytes: this looks like a binary file, not YAML")
        return cls(path, text)

    def load(self) -> Any:
        """The document as plain Python data; a syntax error becomes a located problem."""
        try:
            return yaml.load(self.text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
        except _DuplicateKey as dup:
            line = dup.again.start_mark.line + 1
            first = dup.first.start_mark.line + 1
            raise ConfigError(
                [Problem(self.name, line, "", f"duplicate key {dup.key!r} (first defined on line {first})")]
            ) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 0
            message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
            if _tab_at(self.text, line) or "\t" in message or "tab" in message.lower():
                message += " (YAML does not allow tabs for indentation; use spaces)"
            raise ConfigError([Problem(self.name, line, "", f"YAML syntax error: {message}")]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([Problem(self.name, 0, "", f"YAML error: {exc}")]) from None

    def line_of(self, path: Sequence[PathPart], *, key: bool = False) -> int:
        """1-based line of the node at ``path`` (of its key when ``key``), or of the deepest
        ancestor that exists, so every problem points somewhere useful."""
        if not self._composed:
            self._composed = True
            try:
                self._root = yaml.compose(self.text, Loader=_BaseLoader)
            except yaml.YAMLError:
                self._root = None
        node = self._root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in path:
            child, key_node = _child(node, part)
            if child is None:
                break
            line = (key_node if key and key_node is not None else child).start_mark.line + 1
            node = child
        return line


def _child(node: yaml.Node, part: PathPart) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(part):
                return value_node, key_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], None
    return None, None


def _tab_at(text: str, line: int) -> bool:
    lines = text.splitlines()
    return 0 < line <= len(lines) and lines[line - 1].lstrip(" ").startswith("\t")


def _fail(name: str, message: str) -> ConfigError:
    return ConfigError([Problem(name, 0, "", message)])


def json_path(path: Sequence[PathPart]) -> str:
    """``['pipelines', 'orders', 'steps', 0]`` → ``$.pipelines.orders.steps[0]``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)
