"""The DAG of pipelines: ordering, cycles, the part a ``--pipeline`` selection needs, and drawings.

Built on the standard library's :mod:`graphlib`, which also reports the exact cycle it found.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping


def find_cycle(depends_on: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, a]`` in dependency order, or None when the graph is a DAG.
    Names that are not pipelines are ignored here; they are reported on their own."""
    known = set(depends_on)
    sorter = graphlib.TopologicalSorter(
        {name: [dep for dep in deps if dep in known] for name, deps in depends_on.items()}
    )
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1]
        return list(reversed(cycle))
    return None


def topological_order(depends_on: Mapping[str, Iterable[str]]) -> list[str]:
    """Every pipeline after the ones it depends on; ties keep the config's order."""
    sorter = graphlib.TopologicalSorter({name: list(deps) for name, deps in depends_on.items()})
    position = {name: i for i, name in enumerate(depends_on)}
    order: list[str] = []
    sorter.prepare()
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda n: position.get(n, len(position)))
        order.extend(ready)
        sorter.done(*ready)
    return order


def with_dependencies(depends_on: Mapping[str, Iterable[str]], selected: Iterable[str]) -> set[str]:
    """The selected pipelines and, transitively, everything they depend on."""
    keep: set[str] = set()
    stack = list(selected)
    while stack:
        name = stack.pop()
        if name not in keep:
            keep.add(name)
            stack.extend(depends_on.get(name, ()))
    return keep


def render(depends_on: Mapping[str, Iterable[str]], fmt: str, labels: Mapping[str, str] | None = None) -> str:
    """Draw the DAG as ``text``, ``mermaid`` or ``dot``; ``labels`` adds e.g. the pipeline type."""
    labels = labels or {}
    order = topological_order(depends_on)
    if fmt == "mermaid":
        lines = ["flowchart LR"]
        lines += [f'    {_ident(n)}["{n}{_suffix(labels, n)}"]' for n in order]
        lines += [f"    {_ident(d)} --> {_ident(n)}" for n in order for d in depends_on[n]]
        return "\n".join(lines) + "\n"
    if fmt == "dot":
        lines = ["digraph pipelines {", "    rankdir=LR;"]
        lines += [f'    "{n}" [label="{n}{_suffix(labels, n)}"];' for n in order]
        lines += [f'    "{d}" -> "{n}";' for n in order for d in depends_on[n]]
        return "\n".join([*lines, "}"]) + "\n"
    if fmt == "text":
        out = []
        for name in order:
            deps = list(depends_on[name])
            after = f"  <- {', '.join(deps)}" if deps else ""
            out.append(f"{name}{_suffix(labels, name)}{after}")
        return "\n".join(out) + "\n"
    raise ValueError(f"unknown graph format {fmt!r}")


def _suffix(labels: Mapping[str, str], name: str) -> str:
    return f" ({labels[name]})" if name in labels else ""


def _ident(name: str) -> str:
    return "p_" + "".join(c if c.isalnum() else "_" for c in name)
