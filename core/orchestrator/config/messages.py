"""What validation says: one message per JSON Schema keyword (what was expected, what was found,
what to do), and how values and keys are shown in messages (short, with passwords hidden).
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from orchestrator.config.interpolate import hide_passwords
from orchestrator.config.schema import config_schema

if TYPE_CHECKING:
    from jsonschema import ValidationError


#: how close an unknown key must be to an allowed one to be called its misspelling
TYPO_CUTOFF = 0.6


def unknown_key_message(key: Any, allowed: Sequence[str]) -> str:
    """"unknown key", the closest allowed key when it looks like a typo, and every allowed key."""
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=TYPO_CUTOFF)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = key_text(key) if key is None or isinstance(key, bool) else repr(key)
    return f"unknown key {shown}{hint} (allowed here: {', '.join(allowed)})"


def key_text(key: Any) -> str:
    """A mapping key as YAML writes it: ``null``, ``true``, ``1``, ``name``."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return str(key).lower()
    return str(key)


def missing_key(error: ValidationError) -> str:
    """The key a ``required`` error is about (jsonschema reports one error per missing key)."""
    for key in error.validator_value:
        if error.message.startswith(repr(key)):
            return str(key)
    return str(error.validator_value[0])


# -- one message per JSON Schema keyword: what was expected, what was found, what to do --------


def _required(error: ValidationError) -> str:
    key = missing_key(error)
    spec = error.schema.get("properties", {}).get(key, {})
    if not isinstance(spec, dict):  # a boolean subschema (``true``) says nothing more
        spec = {}
    if "enum" in spec:
        about = f" (one of {', '.join(str(o) for o in spec['enum'])})"
    elif spec.get("description"):
        about = f": {_sentence_part(spec['description'])}"
    else:
        about = ""
    return f"missing required key {key!r}{about}"


def _sentence_part(description: str) -> str:
    """A schema description continued after a colon: no capital (unless an acronym), no full stop."""
    text = description.rstrip(".")
    first = text.split(" ", 1)[0]
    if first[1:] == first[1:].lower():
        text = text[:1].lower() + text[1:]
    return text


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def type_message(error: ValidationError, substituted: bool = False) -> str:
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    value = error.instance
    message = f"expected {_join_or([_TYPE_NAMES.get(t, str(t)) for t in expected])}, got {describe(value)}"
    if "array" in expected and isinstance(value, str):
        return message + f"; write [{value}] for a list of one"
    if "array" in expected and isinstance(value, dict):
        return message + "; start each list item with '- '"
    if "object" in expected and isinstance(value, list):
        return message + "; write 'key: value' lines, not '- ' items"
    if "object" in expected and isinstance(value, str) and _last_key(error) == "steps":
        return message + f"; a step is a mapping, e.g. '- plugin: {value}'"
    if value is None and ("object" in expected or "array" in expected):
        what = "'key: value' lines" if "object" in expected else "'- ' items"
        return message + f"; add {what} below it, indented"
    if isinstance(value, str) and not substituted and _parses_as(value, expected):
        return message + "; remove the quotes"
    if expected == ["string"] and isinstance(value, (int, float, datetime.date)):
        return message + "; put quotes around it to make it text"
    return message


def _parses_as(text: str, expected: list[str]) -> bool:
    """Whether a quoted string would have been the expected scalar without its quotes."""
    try:
        plain = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    kinds = {bool: "boolean", int: "integer", float: "number"}
    kind = kinds.get(type(plain))
    return kind in expected or (kind == "integer" and "number" in expected)


def _enum(error: ValidationError) -> str:
    options = [str(o) for o in error.validator_value]
    return f"expected one of {', '.join(options)}, got {describe(error.instance)}{_did_you_mean(str(error.instance), options)}"


def _did_you_mean(word: str, options: list[str]) -> str:
    by_case = {o.lower(): o for o in options}
    close = [by_case[word.lower()]] if word.lower() in by_case else difflib.get_close_matches(word, options, n=1, cutoff=0.4)
    return f"; did you mean {close[0]!r}?" if close else ""


def _const(error: ValidationError) -> str:
    return f"expected {error.validator_value!r}, got {describe(error.instance)}"


def _pattern(error: ValidationError) -> str:
    description = error.schema.get("description")
    value = short(error.instance)
    if error.schema == config_schema()["$defs"]["name"]:
        return f"{value} is not a valid name: {_NAME_RULE}"
    if description:
        return f"{value} does not have the expected form: {_sentence_part(description)}"
    return f"{value} does not match the pattern {error.validator_value}"


def name_message(error: ValidationError) -> str:
    """A mapping key that is not an allowed name (``propertyNames``)."""
    if not isinstance(error.instance, str):
        return f"{describe(error.instance)} is used as a key, but names must be text; put quotes around it"
    rule = _sentence_part(error.schema.get("description", "")) or f"names must match {error.schema.get('pattern')}"
    if error.schema == config_schema()["$defs"]["name"]:
        rule = _NAME_RULE
    return f"{error.instance!r} is not a valid name: {rule}"


_NAME_RULE = "use letters, digits, '_', '-' and '.', starting with a letter or '_'"


def _bound(word: str) -> Callable[[ValidationError], str]:
    def message(error: ValidationError) -> str:
        return f"must be {word} {error.validator_value}, got {describe(error.instance)}"

    return message


def _min_length(error: ValidationError) -> str:
    if error.validator_value == 1:
        return "must not be empty"
    return f"must be at least {error.validator_value} characters long, got {describe(error.instance)}"


def _max_length(error: ValidationError) -> str:
    n = error.validator_value
    return f"must be at most {n} character{'s' if n != 1 else ''} long, got {describe(error.instance)} ({len(error.instance)} characters)"


def _min_items(error: ValidationError) -> str:
    noun = _ITEM_NOUNS.get(_last_key(error), "item")
    if error.validator_value == 1:
        return f"must not be empty; add at least one {noun}"
    return f"must have at least {error.validator_value} {noun}s, got {len(error.instance)}"


def _min_properties(error: ValidationError) -> str:
    noun = _ITEM_NOUNS.get(_last_key(error), "entry")
    if error.validator_value == 1:
        return f"must not be empty; define at least one {noun}"
    return f"must have at least {error.validator_value} entries, got {len(error.instance)}"


_ITEM_NOUNS = {"steps": "step", "pipelines": "pipeline", "depends_on": "pipeline name"}


def _last_key(error: ValidationError) -> str:
    return next((str(p) for p in reversed(error.absolute_path) if isinstance(p, str)), "")


def _unique_items(error: ValidationError) -> str:
    seen: list[Any] = []
    for item in error.instance:
        if item in seen:
            return f"lists {item!r} more than once; remove the repeat"
        seen.append(item)
    return "must not list the same item twice"


def _not(error: ValidationError) -> str:
    """The schemas say "not NaN" with ``not`` (a NaN passes every numeric bound)."""
    if isinstance(error.instance, float) and error.instance != error.instance:
        return "must be a number, got .nan (not a number)"
    return str(error.message)


def fallback(error: ValidationError) -> str:
    """jsonschema's own message, for a keyword no message above is written for."""
    return str(error.message)


def _one_of(error: ValidationError) -> str:
    """``oneOf`` of alternatives that each require one key (a schedule's ``cron`` or ``every``):
    say which keys are there and that exactly one of them belongs."""
    alternatives = [
        sub["required"][0] for sub in error.validator_value
        if isinstance(sub, dict) and set(sub) == {"required"} and len(sub["required"]) == 1
    ]
    if len(alternatives) != len(error.validator_value) or not isinstance(error.instance, dict):
        return fallback(error)
    present = [key for key in alternatives if key in error.instance]
    if present:
        return f"has {' and '.join(present)}; write exactly one of {_join_or(alternatives)}"
    return f"needs one of {_join_or(alternatives)}"


MESSAGES: dict[str, Callable[[ValidationError], str]] = {
    "oneOf": _one_of,
    "required": _required,
    "type": type_message,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minimum": _bound("at least"),
    "maximum": _bound("at most"),
    "exclusiveMinimum": _bound("greater than"),
    "exclusiveMaximum": _bound("less than"),
    "minLength": _min_length,
    "maxLength": _max_length,
    "minItems": _min_items,
    "minProperties": _min_properties,
    "uniqueItems": _unique_items,
    "not": _not,
}


def _join_or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def describe(value: Any) -> str:
    """A value as a message shows it: its kind, and the value itself when it is short enough."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return f"the {'date and time' if isinstance(value, datetime.datetime) else 'date'} {value.isoformat()}"
    if isinstance(value, bytes):
        return "binary data"
    kind = {str: "the string", int: "the integer", float: "the number"}.get(type(value), type(value).__name__)
    return f"{kind} {short(value)}"


def short(value: Any, limit: int = 40) -> str:
    text = repr(hide_passwords(value) if isinstance(value, str) else value)  # before cutting: a cut URL hides nothing
    return text if len(text) <= limit else text[: limit - 3] + "..."
