"""The rules of ``foreach:``, ``max_parallel:``, ``when:`` and ``run_if:`` that a schema cannot say:
what a ``from:`` names, which items can make instances, which fields ``${item.field}`` reads, and
whether a condition is an expression over names it can read. Only what the schema pass found
well-formed is looked at, as in :mod:`~orchestrator.config.rules`."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from orchestrator.config import foreach
from orchestrator.config.messages import key_text
from orchestrator.config.yamlsource import PathPart

if TYPE_CHECKING:
    from orchestrator.config.validation import Checker


def implied_dependencies(pipeline: Any, written: Any = ()) -> list[str]:
    """The pipelines a ``foreach: {from: ...}`` or an ``extract: {from: ...}`` takes rows from:
    dependencies not written (those not already in ``written``)."""
    found: list[str] = []
    for key in ("foreach", "extract"):
        value = pipeline.get(key) if isinstance(pipeline, dict) else None
        source = value.get("from") if isinstance(value, dict) else None
        if isinstance(source, str) and source not in found and source not in written:
            found.append(source)
    return found


def check_language(checker: Checker, name: str, pipeline: dict[str, Any], pipelines: dict[str, Any], params: Any) -> None:
    base: list[PathPart] = ["pipelines", key_text(name)]
    if isinstance(pipeline.get("extract"), dict):
        _check_extract(checker, base, pipeline, pipelines)
    if "foreach" in pipeline:
        _check_foreach(checker, base, pipeline, pipelines)
    elif "max_parallel" in pipeline:
        checker.report([*base, "max_parallel"], "max_parallel bounds the instances of a foreach pipeline; add 'foreach:' or remove it", key=True)
    conditions: list[tuple[list[PathPart], Any]] = [([*base, "when"], pipeline.get("when"))]
    phases = pipeline.get("phases")
    for phase, body in phases.items() if isinstance(phases, dict) else ():
        steps = body.get("steps") if isinstance(body, dict) else None
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict):
                conditions.append(([*base, "phases", phase, "steps", index, "when"], step.get("when")))
    written = [(path, text) for path, text in conditions if isinstance(text, str) and text.strip()]
    if not written:
        return
    from orchestrator.config.conditions import allowed_names, problem

    deps = pipeline.get("depends_on")
    upstream = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
    names = allowed_names(params if isinstance(params, dict) else {}, [*upstream, *implied_dependencies(pipeline)], foreach.item_name(pipeline))
    for path, text in written:
        wrong = problem(text, names)
        if wrong is not None:
            checker.report(path, wrong)


def _check_extract(checker: Checker, base: list[PathPart], pipeline: dict[str, Any], pipelines: dict[str, Any]) -> None:
    """``extract: {from: ...}`` names another pipeline, and stands in for the extract phase."""
    source = pipeline["extract"].get("from")
    if isinstance(source, str) and (source not in pipelines or source == base[1]):
        others = [key_text(p) for p in pipelines if p != base[1]]
        close = difflib.get_close_matches(source, others, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        checker.report([*base, "extract", "from"], f"unknown pipeline {source!r}{hint} (an extract takes the rows of another pipeline "
                                                   f"of this file: {', '.join(others) or 'none'})")
    phases = pipeline.get("phases")
    if isinstance(phases, dict) and "extract" in phases:
        checker.report([*base, "phases", "extract"], "the pipeline takes its extract from another pipeline ('extract: {from: ...}'); "
                                                     "remove this extract phase, or the 'extract:' key", key=True)


def _check_foreach(checker: Checker, base: list[PathPart], pipeline: dict[str, Any], pipelines: dict[str, Any]) -> None:
    path: list[PathPart] = [*base, "foreach"]
    items, source, as_name, key_field = foreach.settings(pipeline["foreach"])
    written = pipeline["foreach"]
    if isinstance(written, dict) and set(written) <= {"items", "from", "as", "key"} and (items is None) == (source is None):
        checker.report(path, "needs either 'items' (a list) or 'from' (a pipeline whose rows are the items), not both" if items is not None
                       else "needs 'items' (a list) or 'from' (a pipeline whose rows are the items)")
        return
    if source is not None:
        if source not in pipelines or source == base[1]:
            others = [key_text(p) for p in pipelines if p != base[1]]
            close = difflib.get_close_matches(str(source), others, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            checker.report([*path, "from"], f"unknown pipeline {source!r}{hint} (a foreach takes its items from another pipeline "
                                            f"of this file: {', '.join(others) or 'none'})")
        return
    if not isinstance(items, list):
        return
    where = path if isinstance(pipeline["foreach"], list) else [*path, "items"]
    if not items:
        checker.report(where, "has no items, so the pipeline would never run; give it at least one item or remove the pipeline")
        return
    try:
        foreach.keys(items, key_field)
    except foreach.ForeachError as exc:
        checker.report([*path, "key"] if key_field is not None else where, str(exc))
        return
    name = as_name if isinstance(as_name, str) else foreach.ITEM
    for ref_path, reference, fields in foreach.references(pipeline, name):
        for index, item in enumerate(items):
            try:
                foreach.field_of(item, fields)
            except KeyError as exc:
                checker.report(
                    [*base, *ref_path],
                    f"{reference} reads field {exc.args[0]!r}, which item {index} of foreach does not have "
                    f"({_shape(item)}); give every item that field or change the reference",
                )
                break


def _shape(item: Any) -> str:
    if isinstance(item, dict):
        return f"its fields: {', '.join(map(str, item)) or 'none'}"
    return f"it is {type(item).__name__} {str(item)[:30]!r}, not a mapping"
