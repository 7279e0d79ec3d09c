"""``when:`` conditions: small expressions over what a run knows, checked when a file is validated
and evaluated when the pipeline (or step) is about to run.

A condition reads ``params.NAME``, ``env.NAME`` (unset: None), ``schedule.logical_time`` /
``interval_start`` / ``interval_end``, ``upstream.NAME.status`` / ``.rows`` (each pipeline it depends
on: ``succeeded``, ``failed``, ``skipped`` or ``interrupted``, and the rows it moved) and, in a
``foreach`` pipeline, ``item`` (or its ``as:`` name). It is evaluated by simpleeval, which walks the
expression's syntax tree with a fixed set of operators and no access to Python itself (never
``eval``); why that library is in ``docs/design/conditions.md``. simpleeval is imported only here,
and this module only when a file has a ``when:``.
"""

from __future__ import annotations

import ast
import difflib
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

#: what a condition may call
FUNCTIONS = {"int": int, "float": float, "str": str, "len": len}
UPSTREAM_FIELDS = ("status", "rows")
SCHEDULE_FIELDS = ("logical_time", "interval_start", "interval_end")


class ConditionError(ValueError):
    """A condition that cannot be evaluated: the message says why, without a traceback."""


class _Unset(dict[str, Any]):
    """``env``: an unset variable reads as None, so ``env.DEPLOY == 'prod'`` is simply false."""

    def __missing__(self, key: str) -> None:
        return None


@cache
def _parsed(text: str) -> Any:
    from simpleeval import EvalWithCompoundTypes

    return EvalWithCompoundTypes(functions=FUNCTIONS).parse(text)


def problem(text: str, names: Mapping[str, Any]) -> str | None:
    """What is wrong with a condition, or None. ``names`` are the names it may read, each with its
    known fields (a collection: another field is an error) or None (any field)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        hint = "; compare with '==', not '='" if "=" in text and "==" not in text else ""
        return f"{text.strip()!r} is not a valid expression ({exc.msg}, column {exc.offset or 0}){hint}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            return f"{text.strip()!r} calls {ast.unparse(node.func)!r}; a condition may call only {', '.join(FUNCTIONS)}"
        if isinstance(node, ast.Name) and node.id not in names and node.id not in FUNCTIONS:
            if node.id == "item":
                return "'item' is known only in a foreach pipeline (a condition here reads params, env, schedule, upstream)"
            return _unknown("name", node.id, list(names), "a condition reads")
        if isinstance(node, ast.Attribute) and _upstream_entry(node.value) and node.attr not in UPSTREAM_FIELDS:
            return _unknown("field of an upstream pipeline", node.attr, list(UPSTREAM_FIELDS), "each has")
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.value, ast.Name) and node.value.id in names:
            field = node.attr if isinstance(node, ast.Attribute) else _constant(node.slice)
            known = names[node.value.id]
            if field is not None and known is not None and field not in known:
                return _unknown(f"{node.value.id} field", field, sorted(known), f"{node.value.id} has")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return f"{text.strip()!r} reads {node.attr!r}; names starting with '_' cannot be read"
    return None


def _upstream_entry(node: ast.expr) -> bool:
    """Whether ``node`` is ``upstream.NAME`` or ``upstream['NAME']``."""
    return isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.value, ast.Name) and node.value.id == "upstream"


def _constant(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _unknown(what: str, name: str, known: list[str], having: str) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {name!r}{hint} ({having} {', '.join(known) or 'none'})"


def allowed_names(params: Mapping[str, Any], upstream: list[str], item: str | None) -> dict[str, Any]:
    """The names a condition may read, with their fields (see :func:`problem`)."""
    names: dict[str, Any] = {"params": set(params), "env": None, "schedule": SCHEDULE_FIELDS, "upstream": set(upstream)}
    if item is not None:
        names[item] = None
    return names


def holds(text: str, names: Mapping[str, Any]) -> bool:
    """Whether the condition is true with these values (:class:`ConditionError` when it cannot be
    evaluated, as when a missing value is compared with a number)."""
    from simpleeval import EvalWithCompoundTypes

    evaluator = EvalWithCompoundTypes(functions=FUNCTIONS, names={**names, "env": _Unset(os.environ)})
    try:
        return bool(evaluator.eval(text, previously_parsed=_parsed(text)))
    except Exception as exc:  # noqa: BLE001 - whatever the expression did wrong, it is the config's mistake
        raise ConditionError(f"when: {text.strip()!r} could not be evaluated: {exc}") from None


def upstream_values(outcomes: Mapping[str, tuple[str, int | None]]) -> dict[str, dict[str, Any]]:
    """``upstream`` as a condition reads it, from each upstream pipeline's status and rows."""
    return {name: {"status": status, "rows": rows} for name, (status, rows) in outcomes.items()}
