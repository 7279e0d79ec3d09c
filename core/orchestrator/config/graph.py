"""The DAG of pipelines: ordering, cycles, the part a ``--pipeline`` selection needs (with what it
depends on, or with what depends on it: ``--downstream``), and drawings.

Built on the standard library's :mod:`graphlib`, which also reports the exact cycle it found.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping


def find_cycles(depends_on: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every dependency cycle, each as ``[a, b, a]`` in dependency order (a self-dependency as
    ``[a, a]``), in the config's order; empty when the graph is a DAG. Names that are not pipelines
    are ignored here; they are reported on their own.

    One cycle is named per knot of mutually dependent pipelines (strongly connected component), so
    a config with two separate cycles and a self-dependency gets three messages, not one."""
    known = {name: [dep for dep in deps if dep in depends_on] for name, deps in depends_on.items()}
    cycles = [[name, name] for name, deps in known.items() if name in deps]
    for component in knots(known):
        inside = set(component)
        sorter = graphlib.TopologicalSorter(
            {name: [dep for dep in known[name] if dep in inside and dep != name] for name in component}
        )
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycles.append(list(reversed(exc.args[1])))
    position = {name: i for i, name in enumerate(depends_on)}
    starts = [min(range(len(cycle) - 1), key=lambda i: position[cycle[i]]) for cycle in cycles]
    told = [cycle[start:-1] + cycle[: start + 1] for cycle, start in zip(cycles, starts, strict=True)]
    return sorted(told, key=lambda cycle: position[cycle[0]])  # each told from its first pipeline in the file


def knots(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node: the groups of nodes that each reach
    every other (Tarjan's algorithm, iterative so a long chain cannot exhaust Python's recursion
    limit). Every node a node names must be a key of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


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


def with_dependents(depends_on: Mapping[str, Iterable[str]], selected: Iterable[str]) -> set[str]:
    """The selected pipelines and, transitively, everything that depends on them (``--downstream``)."""
    dependents: dict[str, list[str]] = {}
    for name, deps in depends_on.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(name)
    return with_dependencies(dependents, selected)


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
