"""Arrow types from the names users write in YAML (``int64``, ``decimal128(12, 2)``, ...)."""

from __future__ import annotations

import re

import pyarrow as pa
from orchestrator.errors import StepError

#: Friendly spellings beside Arrow's own aliases, matching the built-in csv.read's type names.
_ALIASES = {
    "int": "int64",
    "float": "float64",
    "str": "string",
    "text": "string",
    "boolean": "bool",
}
_DECIMAL = re.compile(r"^decimal(128|256)?\(\s*(\d+)\s*,\s*(-?\d+)\s*\)$")
_TIMESTAMP = re.compile(
    r"^timestamp\[\s*(s|ms|us|ns)\s*,\s*tz\s*=\s*([^\]]+?)\s*\]$", re.IGNORECASE
)
EXAMPLES = "int64, float64, string, bool, date32, timestamp[ms], timestamp[us, tz=UTC], decimal128(12, 2)"


def arrow_type(name: str, column: str) -> pa.DataType:
    """The Arrow type a name stands for; an unknown name is a one-line error naming the column,
    because a typo in a type must stop the run before any data is converted wrongly."""
    text = name.strip()
    lowered = _ALIASES.get(text.lower(), text.lower())
    if match := _DECIMAL.match(lowered):
        width, precision, scale = match.groups()
        factory = pa.decimal256 if width == "256" else pa.decimal128
        try:
            return factory(int(precision), int(scale))
        except (ValueError, pa.ArrowInvalid) as exc:
            raise StepError(
                f"column {column!r}: invalid type {name!r}: {exc}"
            ) from None
    if match := _TIMESTAMP.match(text):  # the zone keeps its case: "Europe/Paris"
        return pa.timestamp(match.group(1).lower(), tz=match.group(2))
    try:
        return pa.type_for_alias(lowered)
    except ValueError:
        raise StepError(
            f"column {column!r}: unknown type {name!r}; use one of {EXAMPLES}"
        ) from None


def schema_of(types: dict[str, str] | None) -> dict[str, pa.DataType]:
    """Every column's Arrow type, each name checked."""
    return {column: arrow_type(name, column) for column, name in (types or {}).items()}
