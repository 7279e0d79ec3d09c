"""The DAG helpers on graphs larger and more tangled than a config in the corpus."""

from __future__ import annotations

from orchestrator.config.graph import find_cycles


def test_every_cycle_is_found_each_from_its_first_pipeline() -> None:
    graph = {"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c", "d"], "e": ["a", "x"]}
    assert find_cycles(graph) == [["a", "b", "a"], ["c", "d", "c"], ["d", "d"]]


def test_a_dag_has_no_cycles() -> None:
    assert find_cycles({"a": [], "b": ["a"], "c": ["a", "b"]}) == []


def test_a_chain_longer_than_the_recursion_limit_is_walked() -> None:
    length = 20_000
    graph = {f"p{i}": [f"p{i + 1}"] for i in range(length)}
    graph[f"p{length}"] = ["p0"]
    (cycle,) = find_cycles(graph)
    assert cycle[0] == cycle[-1] == "p0"
    assert len(cycle) == length + 2
