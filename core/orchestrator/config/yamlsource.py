"""Reading a YAML config safely, and finding the line of any JSON path in it.

The happy path pays nothing for line numbers: the document is loaded straight into plain Python
objects with libyaml (through :mod:`.yamlloader`). Only when something is wrong is the file composed
a second time into a node tree, from which the line of every offending path is read; a syntax error
is explained by :mod:`.yamlsyntax`.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.config import cache
from orchestrator.config.limits import TooLarge, check_expansion, read_config_bytes
from orchestrator.config.yamlloader import (
    BadScalar,
    BaseLoader,
    DuplicateKey,
    StrictLoader,
)
from orchestrator.config.yamlsyntax import (
    LINE_BREAKS,
    NESTED_TOO_DEEPLY,
    NESTING_LIMIT,
    syntax_error,
)
from orchestrator.errors import ConfigError, Problem
from orchestrator.version import __version__

PathPart = str | int

#: Changes whenever loading gives different data for the same text (it keys the document cache).
LOADER_REVISION = 2

_NULL = "tag:yaml.org,2002:null"


class YamlSource:
    """One config file: its display name, its text, and line lookup for JSON paths."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.name = str(path)
        self.text = text
        self._root: yaml.Node | None = None
        self._composed = False
        self._indexes: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    @classmethod
    def read(cls, path: Path) -> YamlSource:
        """Read the file, turning every way that can fail into a one-line problem."""
        name = str(path)
        try:
            raw = read_config_bytes(path)
        except TooLarge as exc:
            raise _fail(name, str(exc)) from None
        except FileNotFoundError:
            raise _fail(name, "no such file; check the path (a relative path starts from the current directory)") from None
        except IsADirectoryError:
            raise _fail(name, "this is a directory, not a YAML file; pass the pipeline file itself, e.g. DIR/pipeline.yaml") from None
        except PermissionError:
            raise _fail(name, "permission denied; make the file readable for the current user") from None
        except OSError as exc:
            raise _fail(name, f"the file cannot be read: {exc.strerror or exc}") from None
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise _fail(name, "the file is UTF-16 text; re-save it with UTF-8 encoding", 1)
        if b"\x00" in raw:
            line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
            raise _fail(name, "the file contains NUL bytes, so it is binary, not YAML text; pass the pipeline's .yaml file", line)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise _fail(
                name,
                f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} in column {column}); "
                "re-save it with UTF-8 encoding",
                line,
            ) from None
        return cls(path, text)

    def load(self) -> Any:
        """The document as plain Python data; a syntax error becomes a located problem.

        A document parsed before is read back from the start-up cache, keyed by its exact text."""
        key = cache.digest("yaml", LOADER_REVISION, __version__, yaml.__version__, self.text) if cache.enabled() else None
        if key is not None:
            data = cache.read_document(key)
            if data is not cache.MISSING:
                return data
        data = self._parse()
        if "*" in self.text:  # only aliases can make a document larger than its text
            try:
                check_expansion(data)
            except TooLarge as exc:
                raise _fail(self.name, str(exc)) from None
        if key is not None:
            cache.remember_document(key, data)
        return data

    def _parse(self) -> Any:
        try:
            return yaml.load(self.text, Loader=StrictLoader)  # safe: StrictLoader is a SafeLoader
        except DuplicateKey as dup:
            line = dup.again.start_mark.line + 1
            first = dup.first.start_mark.line + 1
            written = [getattr(node, "value", None) for node in (dup.first, dup.again)]
            if all(isinstance(w, str) for w in written) and written[0] != written[1]:  # '1' and 'true', '1' and '1.0'
                message = (
                    f"duplicate key: {written[1]!r} is the same key as {written[0]!r} on line {first} "
                    "(YAML reads both as the same value); put quotes around them to keep them apart, or remove one"
                )
            else:
                message = (
                    f"duplicate key {dup.key!r} (first defined on line {first}); YAML would silently keep "
                    "only the last one, so remove or rename one of them"
                )
            raise ConfigError([Problem(self.name, line, "", message)]) from None
        except BadScalar as bad:
            raise ConfigError([Problem(self.name, bad.node.start_mark.line + 1, "", bad.message(self.text))]) from None
        except yaml.MarkedYAMLError as exc:
            if NESTING_LIMIT in (exc.problem or "") + (exc.context or ""):
                # libyaml 0.2.6+ (PyYAML 6.0.4+) stops at its own depth limit; older releases
                # recurse until Python's limit: both are the same mistake, told the same way.
                raise ConfigError([Problem(self.name, 0, "", NESTED_TOO_DEEPLY)]) from None
            line, message = syntax_error(self.text, exc)
            raise ConfigError([Problem(self.name, line, "", f"YAML syntax error: {message}")]) from None
        except yaml.reader.ReaderError as exc:
            raise ConfigError([self._unreadable_character(exc)]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([Problem(self.name, 0, "", f"YAML error: {' '.join(str(exc).split())}")]) from None
        except RecursionError:
            raise ConfigError([Problem(self.name, 0, "", NESTED_TOO_DEEPLY)]) from None

    def _unreadable_character(self, exc: yaml.reader.ReaderError) -> Problem:
        """A character YAML refuses to read (control characters, U+FFFE...), located by line and column."""
        character = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        at = self.text.find(character)
        before = LINE_BREAKS.split(self.text[: max(at, 0)])
        line = len(before) if at >= 0 else 0
        where = f" in column {len(before[-1]) + 1}" if at >= 0 else ""
        message = (
            f"the file contains the non-printable character U+{ord(character):04X}{where}, which YAML does not allow; "
            f"delete it, or write it as \"\\u{ord(character):04x}\" inside a double-quoted string"
        )
        return Problem(self.name, line, "", message)

    def line_of(self, path: Sequence[PathPart], *, key: bool = False) -> int:
        """1-based line of the node at ``path`` (of its key when ``key``), or of the deepest
        ancestor that exists, so every problem points somewhere useful."""
        node = self._tree()
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in path:
            child, key_node = self._child(node, part)
            if child is None:
                break
            line = (key_node if key and key_node is not None else child).start_mark.line + 1
            node = child
        return line

    def written_at(self, path: Sequence[PathPart]) -> str | None:
        """The scalar text as written in the file at ``path`` (before any ``${...}`` substitution),
        or None when there is no scalar there."""
        node = self._tree()
        for part in path:
            if node is None:
                return None
            node, _ = self._child(node, part)
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def _child(self, node: yaml.Node, part: PathPart) -> tuple[yaml.Node | None, yaml.Node | None]:
        """The node at ``part`` under ``node``, and its key node in a mapping. A mapping's keys are
        indexed once, so locating many problems in one large mapping stays linear."""
        if isinstance(node, yaml.MappingNode):
            index = self._indexes.get(id(node))
            if index is None:
                index = self._indexes[id(node)] = _keys(node)
            return index.get(str(part), (None, None))
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            return node.value[part], None
        return None, None

    def _tree(self) -> yaml.Node | None:
        """The node tree, composed on first use: only error reporting needs it."""
        if not self._composed:
            self._composed = True
            try:
                self._root = yaml.compose(self.text, Loader=BaseLoader)
            except (yaml.YAMLError, RecursionError):
                self._root = None
        return self._root


def _keys(node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """The entries of a mapping node by key text (the first of duplicates, as reported)."""
    index: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _NULL:  # '~:' and ':' too
            index.setdefault("null", (value_node, key_node))
        index.setdefault(str(key_node.value), (value_node, key_node))
    return index


def _fail(name: str, message: str, line: int = 0) -> ConfigError:
    return ConfigError([Problem(name, line, "", message)])


def json_path(path: Sequence[PathPart]) -> str:
    """``['pipelines', 'orders', 'steps', 0]`` → ``$.pipelines.orders.steps[0]``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif isinstance(part, str) and part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{str(part)!r}]")
    return "".join(out)
