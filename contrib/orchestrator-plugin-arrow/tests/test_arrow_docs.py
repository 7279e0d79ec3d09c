"""The documentation page keeps its promises: every full YAML example on it is a valid config,
and the examples run, in page order, on the data files the page shows."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator_plugin_arrow import schemas

PAGE = Path(__file__).resolve().parents[3] / "docs" / "plugins" / "contrib" / "arrow.md"
TITLED = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)


def titled_blocks() -> list[tuple[str, str, str]]:
    return TITLED.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_full_examples():
    kinds = [kind for kind, _, _ in titled_blocks()]
    assert kinds.count("yaml") >= 2


def test_every_full_yaml_example_is_valid_and_runs(tmp_path, plugins):
    for _, name, text in titled_blocks():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    configs = [tmp_path / name for kind, name, _ in titled_blocks() if kind == "yaml"]

    for config in configs:
        plan = load_plan(config, plugins.registry)
        result = Engine(plan, plugins).run_sync()
        assert result.ok, {name: p.error for name, p in result.pipelines.items()}

    orders = pq.read_table(tmp_path / "out/orders.parquet")
    assert orders.column_names == ["order_id", "customer", "amount_eur", "day"]
    assert orders.schema.field("amount_eur").type == pa.decimal128(12, 2)
    with sqlite3.connect(tmp_path / "out/shop.db") as db:
        assert db.execute(
            "SELECT order_id, customer FROM orders ORDER BY order_id"
        ).fetchall() == [(1, "Ada"), (2, "Grace"), (3, "Alan")]


def test_every_step_of_the_plugin_is_documented_with_its_args(plugins):
    page = PAGE.read_text(encoding="utf-8")
    names = [
        name
        for phase in ("extract", "transform", "load")
        for name in plugins.registry.names(phase, "arrow")
    ]
    assert len(names) == 7
    for name in names:
        assert f"### {name}" in page or f"`{name}`" in page.split("## Example")[0], name

    for schema in (
        schemas.READ_CSV,
        schemas.READ_PARQUET,
        schemas.WRITE_PARQUET,
        schemas.WRITE_CSV,
        schemas.FROM_ROWS,
        schemas.SELECT,
    ):
        for arg in schema["properties"]:
            assert f"| `{arg}` |" in page, arg
