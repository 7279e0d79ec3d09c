"""docs/plugins/contrib/http.md is kept honest: every complete YAML config on it validates, runs
against the test server (``${API_BASE_URL}``) and loads the rows that server serves, and its
arguments table lists exactly the args schema's properties."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_server import TOKEN, ApiServer
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.plugins.discovery import Plugins

from orchestrator_plugin_http.schema import GET_ARGS

PAGE = Path(__file__).resolve().parents[3] / "docs" / "plugins" / "contrib" / "http.md"
FENCE = re.compile(r'^```(\w+)([^\n]*)\n(.*?)^```', re.MULTILINE | re.DOTALL)

# Rows each documented config loads from the test server (see api_server.ROUTES).
EXPECTED_ROWS = {
    "users.yaml": 3,
    "orders.yaml": 7,
    "invoices.yaml": 7,
    "events.yaml": 7,
    "articles.yaml": 7,
    "repos.yaml": 7,
    "customers.yaml": 2,
}


def configs() -> list[tuple[str, str]]:
    """(title, text) of every YAML block on the page with a top-level ``pipelines:`` key."""
    found = []
    for lang, info, body in FENCE.findall(PAGE.read_text(encoding="utf-8")):
        data = yaml.safe_load(body) if lang in ("yaml", "yml") else None
        if isinstance(data, dict) and "pipelines" in data:
            title = re.search(r'title="([^"]+)"', info)
            assert title, f"a complete config on {PAGE.name} has no title=\"...\": {body[:60]!r}"
            found.append((title.group(1), body))
    return found


def test_the_page_shows_a_config_for_every_pagination_style() -> None:
    styles = set()
    for _, body in configs():
        for pipeline in yaml.safe_load(body)["pipelines"].values():
            for step in pipeline["phases"]["extract"]["steps"]:
                styles.add(step["args"].get("pagination", {}).get("style", "none"))
    assert styles == {"none", "page", "offset", "cursor", "next_link"}
    assert sorted(title for title, _ in configs()) == sorted(EXPECTED_ROWS)


@pytest.mark.parametrize("title, body", configs(), ids=[title for title, _ in configs()])
def test_documented_config_validates_and_runs_against_the_server(
    title: str, body: str, tmp_path: Path, plugins: Plugins, api: ApiServer
) -> None:
    config = tmp_path / title
    config.write_text(body, encoding="utf-8")

    plan = load_plan(config, plugins.registry, env={"API_BASE_URL": api.url, "API_TOKEN": TOKEN})
    result = Engine(plan, plugins).run_sync()

    assert result.ok, {name: o.error for name, o in result.pipelines.items()}
    [(name, outcome)] = result.pipelines.items()
    assert outcome.rows == EXPECTED_ROWS[title]
    assert _loaded(plan.pipelines[name].phases["load"][0], tmp_path) == EXPECTED_ROWS[title]


def _loaded(step: Any, directory: Path) -> int:
    """Rows the documented load step actually wrote."""
    if step.plugin == "jsonl.write":
        return len((directory / step.args["path"]).read_text().splitlines())
    with sqlite3.connect(directory / step.args["database"]) as db:
        return int(db.execute(f'SELECT COUNT(*) FROM "{step.args["table"]}"').fetchone()[0])


def _schema_names(schema: dict[str, Any], prefix: str = "") -> set[str]:
    names = set()
    for name, spec in schema.get("properties", {}).items():
        names.add(prefix + name)
        if spec.get("type") == "object" and "properties" in spec:
            names |= _schema_names(spec, f"{prefix}{name}.")
    return names


def test_the_arguments_table_lists_exactly_the_schema() -> None:
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("## Arguments", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([\w.]+)` \|", table, re.MULTILINE))
    assert documented == _schema_names(GET_ARGS)


@pytest.mark.parametrize("title, body", configs(), ids=[title for title, _ in configs()])
def test_documented_config_is_valid_in_an_editor_too(title: str, body: str, plugins: Plugins) -> None:
    """The editor schema (``orchestrator schema``) sees ``${API_BASE_URL}/v1/...`` as written and
    must accept it as validate does."""
    from jsonschema import Draft202012Validator
    from orchestrator.config.schema import composed_schema

    validator = Draft202012Validator(composed_schema(plugins.registry))
    assert [error.message for error in validator.iter_errors(yaml.safe_load(body))] == []
