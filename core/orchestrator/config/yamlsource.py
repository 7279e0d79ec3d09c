"""Reading a YAML config safely, and finding the line of any JSON path in it.

The happy path pays nothing for line numbers: the document is loaded straight into plain Python
objects with libyaml. Only when something is wrong is the file composed a second time into a node
tree, from which the line of every offending path is read.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.config import cache
from orchestrator.version import __version__
from orchestrator.errors import ConfigError, Problem

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PathPart = str | int

#: Changes whenever loading gives different data for the same text (it keys the document cache).
LOADER_REVISION = 2


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_NULL = "tag:yaml.org,2002:null"
_IN_PROGRESS = object()
#: what PyYAML's constructors raise on text that does not fit the tag (they do not check first)
_CONSTRUCTION_ERRORS = (ValueError, TypeError, ArithmeticError, AttributeError, LookupError)


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading that refuses duplicate keys (with plain YAML the last one silently wins), and
    builds plain mappings, lists and scalars directly instead of through PyYAML's generic,
    generator-based constructor: a large config loads about a quarter faster. Anything unusual (merge
    keys, explicit collection tags) takes the standard safe path."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[tuple[Any, Any, Any], str] = {}
        self._built: dict[int, Any] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """Implicit tag resolution, memoised: configs repeat the same keys and values a lot."""
        key = (kind, value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag

    def construct_document(self, node: yaml.Node) -> Any:
        try:
            return self._build(node)
        finally:
            self._built = {}
            self.constructed_objects = {}
            self.recursive_objects = {}

    def _build(self, node: yaml.Node) -> Any:
        kind, tag = node.__class__, node.tag
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            constructor = self.yaml_constructors.get(tag)
            if constructor is None or tag in (_MAP, _SEQ):
                return self.construct_object(node, deep=True)
            try:
                return constructor(self, node)
            except _CONSTRUCTION_ERRORS as exc:  # e.g. '2026-02-30', '!!int x'
                raise _BadScalar(node, exc) from None
        built = self._built.get(id(node))
        if built is not None:  # an alias of a collection already built: share it, as YAML says
            if built is _IN_PROGRESS:
                raise yaml.constructor.ConstructorError(
                    None, None, "found unconstructable recursive node", node.start_mark
                )
            return built
        self._built[id(node)] = _IN_PROGRESS
        if kind is yaml.MappingNode and tag == _MAP and not any(k.tag == _MERGE for k, _ in node.value):
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._build(key_node)
                try:
                    seen = key in mapping
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                    ) from None
                if seen:
                    first = next(k for k, _ in node.value if self.construct_object(k) == key)
                    raise _DuplicateKey(key, first, key_node)
                mapping[key] = self._build(value_node)
            self._built[id(node)] = mapping
            return mapping
        if kind is yaml.SequenceNode and tag == _SEQ:
            items = [self._build(child) for child in node.value]
            self._built[id(node)] = items
            return items
        del self._built[id(node)]
        return self.construct_object(node, deep=True)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except _CONSTRUCTION_ERRORS as exc:
            raise _BadScalar(node, exc) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The standard path (merge keys, tagged mappings), with the same duplicate-key check."""
        if not isinstance(node, yaml.MappingNode):  # e.g. '!!map' written on a list
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping node, but found {node.id}", node.start_mark
            )
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            if key in seen:
                raise _DuplicateKey(key, seen[key], key_node)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(_MAP, _StrictLoader.construct_mapping)


class _BadScalar(Exception):
    """A value whose tag (explicit, or implied by how it looks) cannot be built from its text."""

    def __init__(self, node: yaml.Node, error: Exception) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error

    def message(self, text: str) -> str:
        kind = _TAG_KINDS.get(self.node.tag, "a value of type " + str(self.node.tag).rsplit(":", 1)[-1])
        value = self.node.value if isinstance(self.node, yaml.ScalarNode) else ""
        shown = value if len(value) <= 40 else value[:37] + "..."
        reason = str(self.error).split("\n")[0]
        lines = _LINE_BREAKS.split(text)
        mark = self.node.start_mark
        here = lines[mark.line] if mark.line < len(lines) else ""
        if not here[mark.column :].startswith("!") and self.node.tag in _IMPLICIT_TAGS:  # no tag written
            return f"{shown!r} looks like {kind} but is not a valid one ({reason}); put quotes around it to keep it as text"
        tag = str(self.node.tag).replace("tag:yaml.org,2002:", "!!")
        return f"{shown!r} cannot be read as {kind}; fix the value or remove the {tag!r} tag"


_TAG_KINDS = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:binary": "base64 binary data",
}
_IMPLICIT_TAGS = frozenset(_TAG_KINDS) - {"tag:yaml.org,2002:binary"}


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
        if key is not None:
            cache.remember_document(key, data)
        return data

    def _parse(self) -> Any:
        try:
            return yaml.load(self.text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
        except _DuplicateKey as dup:
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
        except _BadScalar as bad:
            raise ConfigError([Problem(self.name, bad.node.start_mark.line + 1, "", bad.message(self.text))]) from None
        except yaml.MarkedYAMLError as exc:
            if _NESTING_LIMIT in (exc.problem or "") + (exc.context or ""):
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
        before = _LINE_BREAKS.split(self.text[: max(at, 0)])
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
            child, key_node = _child(node, part)
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
            node, _ = _child(node, part)
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def _tree(self) -> yaml.Node | None:
        """The node tree, composed on first use: only error reporting needs it."""
        if not self._composed:
            self._composed = True
            try:
                self._root = yaml.compose(self.text, Loader=_BaseLoader)
            except (yaml.YAMLError, RecursionError):
                self._root = None
        return self._root


def _child(node: yaml.Node, part: PathPart) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(part) or (part == "null" and key_node.tag == _NULL):  # '~:' and ':' too
                return value_node, key_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], None
    return None, None


_LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

#: how libyaml words a document deeper than it allows
_NESTING_LIMIT = "maximum nesting depth"

NESTED_TOO_DEEPLY = "the document is nested too deeply to be a pipeline config; flatten it"

#: libyaml's problem text → (explanation and fix in plain words, report the line where the construct began)
_SYNTAX_HINTS: tuple[tuple[str, str, bool], ...] = (
    (
        "did not find expected key",
        "this line is not indented like the keys above it, or is not a 'key: value' pair; "
        "align it with its siblings (spaces only)",
        False,
    ),
    (
        "mapping values are not allowed",
        "a ':' appears where YAML does not expect a new key; check this line's indentation, "
        "and put quotes around values that contain ': '",
        False,
    ),
    (
        "did not find expected ',' or '}'",
        "the '{' opened on this line is not closed, or a value inside it contains '{', '}', '[', ']' or ','; "
        "close it, or put quotes around such values",
        True,
    ),
    (
        "did not find expected ',' or ']'",
        "the '[' opened on this line is not closed, or an item inside it contains '{', '}', '[', ']' or ','; "
        "close it, or put quotes around such items",
        True,
    ),
    ("found unexpected end of stream", "the quoted string that starts on this line is never closed; add the closing quote", True),
    ("could not find expected ':'", "this line is not a 'key: value' pair; add the ':' (a list item starts with '- ')", True),
    ("did not find expected '-' indicator", "this list item is not indented like the items above it; align the '- '", False),
    ("found undefined alias", "this '*name' refers to an anchor '&name' that is not defined earlier in the file", False),
    (
        "expected a single document",
        "a second YAML document starts here ('---'); a config is a single document, so remove the '---' "
        "or split the file",
        False,
    ),
    ("found unhashable key", "a key must be a single value, not a list or a mapping", False),
    (
        "found unconstructable recursive node",
        "an alias ('*name') here refers to the mapping or list that contains it, which would never end; "
        "remove the alias",
        False,
    ),
    (
        "could not determine a constructor",
        "a config may not use YAML tags such as '!!python/...' or custom '!tags'; remove the tag",
        False,
    ),
    (
        "did not find expected alphabetic or numeric character",
        "a value starts with '&' or '*', which YAML reads as an anchor or alias needing a name right after it; "
        "put quotes around the value",
        False,
    ),
    (
        "found unknown escape character",
        "a double-quoted string contains a backslash escape YAML does not know (such as '\\d' or a Windows path); "
        "use single quotes, or write each backslash as '\\\\'",
        False,
    ),
    (
        "block sequence entries are not allowed",
        "a '- ' list item cannot start on the same line as its key; start the list on the next line, indented, "
        "or write it as [a, b]",
        False,
    ),
    (
        "expected a mapping for merging",
        "a merge key '<<' takes an alias of a mapping ('<<: *defaults') or a list of such aliases; "
        "remove what is not a mapping",
        False,
    ),
    (
        "expected a mapping or list of mappings for merging",
        "a merge key '<<' takes an alias of a mapping ('<<: *defaults') or a list of such aliases; "
        "remove what is not a mapping",
        False,
    ),
    (
        "expected a mapping node, but found",
        "a '!!map', '!!seq' or '!!str' tag here does not fit the value after it; remove the tag",
        False,
    ),
    (
        "expected a sequence node, but found",
        "a '!!map', '!!seq' or '!!str' tag here does not fit the value after it; remove the tag",
        False,
    ),
    (
        "expected a scalar node, but found",
        "a '!!map', '!!seq' or '!!str' tag here does not fit the value after it; remove the tag",
        False,
    ),
    ("did not find expected <document start>", "this line is indented less than the first line; indent every top-level key the same (best: not at all)", False),
    ("found incompatible YAML document", "the '%YAML' directive names a version this reader does not support; remove the directive", False),
    ("found unknown directive name", "a line starting with '%' is a YAML directive; remove it, or put quotes around a value that starts with '%'", False),
    (
        "did not find expected comment or line break",
        "after '|' or '>' only a comment may follow on the same line; put the text on the next lines, indented",
        False,
    ),
    (
        "found character that cannot start any token",
        "a value starts with a character YAML reserves (such as '@', '`' or '%'); put quotes around the value",
        False,
    ),
)
_TAB_HINT = "a tab is used for indentation, which YAML does not allow; indent with spaces"
_FLOW_REFERENCE_HINT = (
    "a value containing '${...}' inside '{...}' must be quoted, "
    "e.g. {path: \"${DIR}/data.csv\"}"
)
_NO_SPACE_AFTER_COLON = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*):(?![\s/])\S")


def syntax_error(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The line to report and a plain-language explanation with a fix, for a YAML syntax error.

    libyaml puts the end of the stream on a line of its own, after the last one; a problem found
    there is reported on the file's last line instead."""
    line, message = _syntax_error(text, exc)
    return min(line, last_line(text)), message


def last_line(text: str) -> int:
    """The number of the file's last line, counted as YAML counts lines (at least 1)."""
    breaks = len(_LINE_BREAKS.findall(text))
    return max(1, breaks if text.endswith(("\n", "\r", "\x85", "\u2028", "\u2029")) else breaks + 1)


def _syntax_error(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, str]:
    problem = exc.problem or ""
    if "did not find expected node content" in problem and _at_end(text, exc.problem_mark):
        opened = _unclosed_bracket(text)
        if opened is not None:
            bracket, line = opened
            closing = "]" if bracket == "[" else "}"
            return line, f"the '{bracket}' opened on this line is never closed; add the closing '{closing}'"
        return last_line(text), "the file ends where a value was expected; finish or remove the last entry"
    for needle, plain, at_start in _SYNTAX_HINTS:
        if needle in problem or needle in (exc.context or ""):
            mark = (exc.context_mark if at_start else None) or exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 0
            return _refine(text, line, problem, plain)
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 0
    return _refine(text, line, problem, " ".join(filter(None, [exc.context, problem])) or "invalid YAML")


def _at_end(text: str, mark: Any) -> bool:
    """Whether only blank lines and comments follow ``mark``."""
    if mark is None:
        return False
    lines = _LINE_BREAKS.split(text)
    rest = [lines[mark.line][mark.column :]] if mark.line < len(lines) else []
    rest += lines[mark.line + 1 :]
    return all(not part.strip() or part.strip().startswith("#") for part in rest)


def _unclosed_bracket(text: str) -> tuple[str, int] | None:
    """The first '[' or '{' (and its line) still open at the end of the text, skipping quoted
    strings and comments; None when every one is closed."""
    stack: list[tuple[str, int]] = []
    quote = ""
    line = 1
    previous = " "
    for index, char in enumerate(text):
        if char in "\r\n\x85\u2028\u2029":
            if not (char == "\n" and previous == "\r"):
                line += 1
            if quote == "#":
                quote = ""
        elif quote == "#":
            pass
        elif quote:
            if char == quote and not (quote == '"' and _escaped(text, index)):
                quote = ""
        elif char in "'\"" and previous in " \t[{,:":
            quote = char
        elif char == "#" and previous in " \t\r\n":
            quote = "#"
        elif char in "[{":
            stack.append((char, line))
        elif char in "]}" and stack:
            stack.pop()
        previous = char
    return stack[0] if stack else None


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _refine(text: str, line: int, problem: str, message: str) -> tuple[int, str]:
    """Sharper hints for the most common causes, which libyaml reports only indirectly."""
    lines = _LINE_BREAKS.split(text)
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if here.lstrip(" ").startswith("\t") or ("cannot start any token" in problem and "\t" in here):
        return line, _TAB_HINT
    if "expected ','" in problem and "${" in here:
        return line, _FLOW_REFERENCE_HINT
    if "mapping values are not allowed" in problem or "did not find expected key" in problem:
        above = _previous_content_line(lines, line)
        match = _NO_SPACE_AFTER_COLON.match(lines[above - 1]) if above else None
        if match and "'" not in lines[above - 1] and '"' not in lines[above - 1]:
            word = lines[above - 1].strip().removeprefix("- ").split()[0]
            return above, f"{word!r} needs a space after the ':' to be a key and its value"
    return line, message


def _previous_content_line(lines: list[str], line: int) -> int:
    for number in range(min(line - 1, len(lines)), 0, -1):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#"):
            return number
    return 0


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


# Booleans as YAML 1.2 has them: only true and false. YAML 1.1 also reads yes, no, on and off as
# booleans, which turns a retry policy's `on:` key into True and a country code NO into False.
_BOOL = "tag:yaml.org,2002:bool"
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in _StrictLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
