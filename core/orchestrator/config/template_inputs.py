"""A template's inputs: their declarations (typed, with defaults) and the values a ``with:`` gives.

The types are the YAML values a config can write: string, integer, number, boolean, list (a YAML
list) and object (a mapping); a boolean is no number, as in the schema. A ``with:`` value that is a
``${...}`` reference is not judged here: it is substituted later, and the schema judges what it
became where it landed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.config.messages import article, describe
from orchestrator.config.yamlsource import PathPart

if TYPE_CHECKING:
    from orchestrator.config.validation import Checker

#: input types, as the YAML value each one must be
INPUT_TYPES: dict[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "list": "a list",
    "object": "a mapping",
}
INPUT_KEYS = ("type", "default", "description")
_WHOLE_REFERENCE = re.compile(r"\$\{[^{}]*\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Input:
    kind: str
    default: Any = None
    required: bool = True


def fits(kind: str, value: Any) -> bool:
    """Whether ``value`` is of input type ``kind`` (a boolean is no number, as in the schema)."""
    if isinstance(value, bool):
        return kind == "boolean"
    expected: dict[str, type | tuple[type, ...]] = {
        "string": str, "integer": int, "number": (int, float), "boolean": bool, "list": list, "object": dict,
    }
    return isinstance(value, expected[kind])


def declared_inputs(raw: Any, path: list[PathPart], checker: Checker) -> dict[str, Input] | None:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        checker.report(path, f"expected a mapping of input names to declarations (type:, default:), got {describe(raw)}")
        return None
    inputs: dict[str, Input] = {}
    ok = True
    for name, spec in raw.items():
        where: list[PathPart] = [*path, str(name)]
        if not isinstance(name, str) or not _NAME.match(name):
            checker.report(where, f"{name!r} is not a valid input name: use letters, digits and '_', starting with a letter or '_' (it is written ${{inputs.NAME}})", key=True)
            ok = False
            continue
        if not isinstance(spec, dict):
            checker.report(where, f"expected a mapping with type: (one of {', '.join(INPUT_TYPES)}) and, for an optional input, default:")
            ok = False
            continue
        for key in spec:
            if key not in INPUT_KEYS:
                close = difflib.get_close_matches(str(key), INPUT_KEYS, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                checker.report([*where, str(key)], f"unknown key {str(key)!r}{hint} (allowed here: {', '.join(INPUT_KEYS)})", key=True)
                ok = False
        kind = spec.get("type")
        if kind not in INPUT_TYPES:
            if "type" not in spec:
                checker.report(where, f"missing required key 'type' (one of {', '.join(INPUT_TYPES)})")
            else:
                checker.report([*where, "type"], f"expected one of {', '.join(INPUT_TYPES)}, got {describe(kind)}")
            ok = False
            continue
        if "description" in spec and not isinstance(spec["description"], str):
            checker.report([*where, "description"], f"expected a string, got {describe(spec['description'])}")
            ok = False
        if "default" in spec and not fits(kind, spec["default"]):
            checker.report([*where, "default"], f"the default of {article(kind)} {kind} input must be {INPUT_TYPES[kind]}, got {describe(spec['default'])}")
            ok = False
            continue
        inputs[name] = Input(kind, spec.get("default"), "default" not in spec)
    return inputs if ok else None


def given_values(raw: Any, template: str, inputs: dict[str, Input], path: list[PathPart], checker: Checker) -> dict[str, Any] | None:
    """The inputs' values: ``with:`` checked against the declarations, defaults filled in."""
    where: list[PathPart] = [*path, "with"]
    written = raw is not None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        checker.report(where, f"expected a mapping of input names to values, got {describe(raw)}")
        return None
    values: dict[str, Any] = {}
    ok = True
    for key, value in raw.items():
        spec = inputs.get(str(key))
        if spec is None:
            known = ", ".join(inputs) or "none"
            close = difflib.get_close_matches(str(key), list(inputs), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            checker.report([*where, str(key)], f"template {template!r} has no input {str(key)!r}{hint} (its inputs: {known})", key=True)
            ok = False
        elif not fits(spec.kind, value) and not (isinstance(value, str) and _WHOLE_REFERENCE.fullmatch(value.strip())):
            checker.report([*where, str(key)], f"input {str(key)!r} of template {template!r} must be {INPUT_TYPES[spec.kind]}, got {describe(value)}{_hint(spec.kind, value)}")
            ok = False
        else:
            values[str(key)] = value
    unknown = [str(key) for key in raw if str(key) not in inputs]
    missing = [
        key for key, spec in inputs.items()
        if spec.required and key not in raw and not difflib.get_close_matches(key, unknown, n=1, cutoff=0.5)  # a typo said it
    ]
    if missing:
        kinds = " and ".join(f"{key!r} ({inputs[key].kind})" for key in missing)
        noun = "input" if len(missing) == 1 else "inputs"
        checker.report(
            where if written else [*path, "uses"],
            f"template {template!r} needs {noun} {kinds}, which {'has' if len(missing) == 1 else 'have'} no default; add {'it' if len(missing) == 1 else 'them'} under 'with:'",
        )
        ok = False
    for key, spec in inputs.items():
        if key not in values and not spec.required:
            values[key] = spec.default
    return values if ok else None


def _hint(kind: str, value: Any) -> str:
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return "; put quotes around it to make it text"
    if isinstance(value, str) and kind in ("integer", "number", "boolean"):
        return "; remove the quotes"
    return ""
