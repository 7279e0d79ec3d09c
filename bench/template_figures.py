"""What ``include:`` and ``templates:`` cost when a config is loaded.

``config-templates`` loads 1,000 pipelines made from one template (its file included), each with 10
no-op transform steps, and the same 1,000 pipelines written out in full (the text ``orchestrator
validate --show-expanded`` prints for the first), both with the core's cache off so validation
really runs: the difference is what expanding includes and templates adds. A config that uses
neither never imports the code that expands them (``tests/test_templates.py`` checks it), so the
``config-load`` figure is what it pays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.environment import NO_CACHE_ENV, PLUGIN_ENV
from bench.harness import US, Bench, environment
from bench.measure import flatten, time_calls
from bench.report import Row, Target
from orchestrator.config.expansion import expand
from orchestrator.config.plan import load_expanded, load_plan
from orchestrator.config.validation import Checker
from orchestrator.config.yamlsource import YamlSource
from orchestrator.plugins.discovery import load_plugins

PIPELINES = 1_000
STEPS = 10


def _templated(root: Path) -> Path:
    (root / "common").mkdir(exist_ok=True)
    transforms = "\n".join(f"          - {{id: t{i}, plugin: bench.noop, args: {{}}}}" for i in range(STEPS))
    (root / "common" / "chain_template.yaml").write_text(
        "templates:\n"
        "  chain:\n"
        "    inputs:\n"
        "      label: {type: string}\n"
        "      size: {type: integer, default: 100}\n"
        "    type: ETL\n"
        "    description: 'chain ${inputs.label}'\n"
        "    phases:\n"
        "      extract:\n"
        "        steps:\n"
        "          - {id: source, plugin: bench.noop}\n"
        "      transform:\n"
        "        steps:\n"
        f"{transforms}\n"
        "      load:\n"
        "        steps:\n"
        "          - {id: sink, plugin: bench.noop}\n",
        encoding="utf-8",
    )
    uses = "\n".join(f"  p{i}: {{uses: chain, with: {{label: p{i}}}}}" for i in range(PIPELINES))
    path = root / "templated_1000.yaml"
    path.write_text(f"include: [common/chain_template.yaml]\npipelines:\n{uses}\n", encoding="utf-8")
    return path


def config_templates(bench: Bench) -> list[Row]:
    import yaml

    from orchestrator.config.expanded import render

    registry = load_plugins(env=PLUGIN_ENV).registry
    templated = _templated(bench.workspace.root)
    with environment(NO_CACHE_ENV):
        plan, data = load_expanded(templated, registry)
    plain = bench.workspace.root / "expanded_1000.yaml"
    plain.write_text(render(data, plan.secrets), encoding="utf-8")
    assert yaml.safe_load(plain.read_text(encoding="utf-8"))["pipelines"]["p7"]["description"] == "chain p7"

    def uncached(config: Path) -> Callable[[], None]:
        def load() -> None:
            with environment(NO_CACHE_ENV):
                load_plan(config, registry)

        return load

    source = YamlSource.read(templated)
    document = source.load()

    def expand_only() -> None:
        with environment(NO_CACHE_ENV):
            expand(document, Checker(source, registry))

    samples = time_calls(
        {"templated": uncached(templated), "written out": uncached(plain), "expand": expand_only}, bench.reps(5, 3)
    )
    note = (
        f"in-process load_plan, cache off, of {PIPELINES:,} pipelines × {STEPS + 2} steps made from one template in an "  # noqa: RUF001 - the multiplication sign is meant
        "included file (inputs: a string and a defaulted integer), against the same pipelines written out in full "
        "(the templated file's validate --show-expanded). Target: expansion adds at most a quarter."
    )
    return [
        Row(
            "14",
            f"load {PIPELINES:,} templated pipelines, cache off",
            "s",
            samples["templated"].median_seconds,
            samples["written out"].median_seconds,
            "written out",
            Target(1.25, "ratio"),
            note,
            flatten(samples),
        ),
        Row(
            "14",
            "expand includes + templates, per pipeline",
            "us",
            samples["expand"].median_seconds / PIPELINES * US,
            None,
            "",
            Target(100),
            f"in-process orchestrator.config.expansion.expand of the templated file above (the included file read and "
            f"parsed each time, {PIPELINES:,} instances of a {STEPS + 2}-step template built), divided by {PIPELINES:,}.",
        ),
    ]
