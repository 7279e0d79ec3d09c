"""YAML syntax errors in plain words: libyaml's terse problem text turned into what is wrong, on
which line, and how to fix it (a tab used for indentation, a missing space after a colon, an
unclosed bracket, a ``${...}`` inside a flow mapping...).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

#: how libyaml words a document deeper than it allows
NESTING_LIMIT = "maximum nesting depth"

NESTED_TOO_DEEPLY = "the document is nested too deeply to be a pipeline config; flatten it"

#: libyaml's problem text → (explanation and fix in plain words, report the line where the construct began)
_SYNTAX_HINTS: tuple[tuple[str, str, bool], ...] = (
    (
        "did not find expected key",
        ("this line is not indented like the keys above it, or is not a 'key: value' pair; "
         "align it with its siblings (spaces only)"),
        False,
    ),
    (
        "mapping values are not allowed",
        ("a ':' appears where YAML does not expect a new key; check this line's indentation, "
         "and put quotes around values that contain ': '"),
        False,
    ),
    (
        "did not find expected ',' or '}'",
        ("the '{' opened on this line is not closed, or a value inside it contains '{', '}', '[', ']' or ','; "
         "close it, or put quotes around such values"),
        True,
    ),
    (
        "did not find expected ',' or ']'",
        ("the '[' opened on this line is not closed, or an item inside it contains '{', '}', '[', ']' or ','; "
         "close it, or put quotes around such items"),
        True,
    ),
    ("found unexpected end of stream", "the quoted string that starts on this line is never closed; add the closing quote", True),
    ("could not find expected ':'", "this line is not a 'key: value' pair; add the ':' (a list item starts with '- ')", True),
    ("did not find expected '-' indicator", "this list item is not indented like the items above it; align the '- '", False),
    ("found undefined alias", "this '*name' refers to an anchor '&name' that is not defined earlier in the file", False),
    (
        "expected a single document",
        ("a second YAML document starts here ('---'); a config is a single document, so remove the '---' "
         "or split the file"),
        False,
    ),
    ("found unhashable key", "a key must be a single value, not a list or a mapping", False),
    (
        "found unconstructable recursive node",
        ("an alias ('*name') here refers to the mapping or list that contains it, which would never end; "
         "remove the alias"),
        False,
    ),
    (
        "could not determine a constructor",
        "a config may not use YAML tags such as '!!python/...' or custom '!tags'; remove the tag",
        False,
    ),
    (
        "did not find expected alphabetic or numeric character",
        ("a value starts with '&' or '*', which YAML reads as an anchor or alias needing a name right after it; "
         "put quotes around the value"),
        False,
    ),
    (
        "found unknown escape character",
        ("a double-quoted string contains a backslash escape YAML does not know (such as '\\d' or a Windows path); "
         "use single quotes, or write each backslash as '\\\\'"),
        False,
    ),
    (
        "block sequence entries are not allowed",
        ("a '- ' list item cannot start on the same line as its key; start the list on the next line, indented, "
         "or write it as [a, b]"),
        False,
    ),
    (
        "expected a mapping for merging",
        ("a merge key '<<' takes an alias of a mapping ('<<: *defaults') or a list of such aliases; "
         "remove what is not a mapping"),
        False,
    ),
    (
        "expected a mapping or list of mappings for merging",
        ("a merge key '<<' takes an alias of a mapping ('<<: *defaults') or a list of such aliases; "
         "remove what is not a mapping"),
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
    breaks = len(LINE_BREAKS.findall(text))
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
    lines = LINE_BREAKS.split(text)
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
    lines = LINE_BREAKS.split(text)
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
