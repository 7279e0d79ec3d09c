"""Registration through the real entry point, cheap imports, and the args schema as users meet it."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from orchestrator.config.plan import load_plan
from orchestrator.errors import ConfigError
from orchestrator.plugins.discovery import Plugins, load_plugins
from orchestrator.config.schema import composed_schema

from orchestrator_plugin_http.schema import GET_ARGS
from api_server import free_port
from support import PLUGINS_ENV, cli, http_pipeline


def test_the_entry_point_registers_http_get_lazily() -> None:
    entry = load_plugins(PLUGINS_ENV).registry.get("extract", "http.get")  # fresh: a run resolves the target

    assert entry is not None
    assert entry.origin.plugin == "http" and entry.origin.distribution == "orchestrator-plugin-http"
    assert entry.target == "orchestrator_plugin_http.steps:get"  # a string: imported on first run
    assert entry.schema is GET_ARGS


def test_the_step_is_an_async_generator_so_pages_stream() -> None:
    from orchestrator_plugin_http.steps import get

    assert inspect.isasyncgenfunction(get)


def test_loading_the_plugin_does_not_import_httpx_or_the_step() -> None:
    # A fresh interpreter: this test process has long imported httpx through other tests.
    code = textwrap.dedent(
        f"""
        import sys
        from orchestrator.plugins.discovery import load_plugins
        plugins = load_plugins({PLUGINS_ENV!r})
        assert plugins.registry.get("extract", "http.get") is not None, plugins.registry.problems
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "httpcore", "h11")
                       or m in ("orchestrator_plugin_http.steps", "orchestrator_plugin_http.fetch"))
        print(heavy)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.e2e
@pytest.mark.parametrize("command, imports_httpx", [("validate", False), ("run", True)])
def test_only_running_the_step_imports_httpx(tmp_path: Path, command: str, imports_httpx: bool) -> None:
    # `run` is the control: it does import httpx, which shows the check below can see it.
    url = f"http://127.0.0.1:{free_port()}/v1/orders"
    (tmp_path / "pipeline.yaml").write_text(http_pipeline('{url: "%s", retry: {attempts: 1}}' % url))

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orchestrator", command, "pipeline.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **PLUGINS_ENV},
        timeout=60,
    )

    assert done.returncode == (1 if command == "run" else 0), done.stdout + done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert ("httpx" in imported) is imports_httpx


def test_orchestrator_plugins_lists_the_step(tmp_path: Path) -> None:
    done = cli("plugins", env={}, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "orchestrator-plugin-http 0.1.0  (plugin http)\n  extract:           http.get\n" in done.stdout


def test_the_composed_schema_includes_the_args(plugins: Plugins) -> None:
    """The editor schema carries the plugin's args schema, with ${...} references allowed where
    a value is judged (validate substitutes them first)."""
    from orchestrator.config.schema import allow_references

    composed = _find_args_of(composed_schema(plugins.registry), "http.get")["properties"]["pagination"]
    assert composed == allow_references(GET_ARGS["properties"]["pagination"])
    assert composed != GET_ARGS["properties"]["pagination"]


def _find_args_of(schema: Any, plugin: str) -> dict[str, Any]:
    """The args schema composed for ``plugin`` (the ``then`` of ``if plugin == X``)."""
    children: list[Any] = []
    if isinstance(schema, dict):
        if schema.get("if", {}).get("properties", {}).get("plugin", {}).get("const") == plugin:
            return dict(schema["then"]["properties"]["args"])
        children = list(schema.values())
    elif isinstance(schema, list):
        children = schema
    for child in children:
        try:
            return _find_args_of(child, plugin)
        except LookupError:
            continue
    raise LookupError(plugin)


def _properties(schema: Any, where: str = "args") -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, spec in schema.get("properties", {}).items():
        found.append((f"{where}.{name}", spec))
        if isinstance(spec, dict) and spec.get("type") == "object":
            found.extend(_properties(spec, f"{where}.{name}"))
    return found


@pytest.mark.parametrize("where, spec", _properties(GET_ARGS), ids=[w for w, _ in _properties(GET_ARGS)])
def test_every_property_has_a_description_and_an_example(where: str, spec: dict[str, Any]) -> None:
    assert spec.get("description"), where
    assert spec.get("examples"), where


def _problems(tmp_path: Path, plugins: Plugins, args: str) -> list[str]:
    config = tmp_path / "pipeline.yaml"
    config.write_text(http_pipeline(args))
    with pytest.raises(ConfigError) as caught:
        load_plan(config, plugins.registry, env={})
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


ARGS = "$.pipelines.p.phases.extract.steps[0].args"


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            '{url: "http://x/a", pagination: {style: page, cursor_path: a.b}}',
            f"{ARGS}.pagination.cursor_path: unknown key 'cursor_path' (allowed here: style, max_pages, page_param, start, size_param, size)",
        ),
        (
            '{url: "http://x/a", pagination: {style: cursor}}',
            f"{ARGS}.pagination: missing required key 'cursor_path': cursor: where the next cursor is in each JSON response (dotted path); no value there ends the pages",
        ),
        (
            '{url: "http://x/a", pagination: {style: offset}}',
            f"{ARGS}.pagination: missing required key 'limit': offset: records asked for per request (sent in limit_param); the next offset is this one plus the records received",
        ),
        (
            '{url: "http://x/a", pagination: {style: page, size_param: per_page}}',
            f"{ARGS}.pagination: missing required key 'size': page: the page size sent in size_param",
        ),
        (
            '{url: "http://x/a", pagination: {style: none, max_pages: 2}}',
            f"{ARGS}.pagination.max_pages: unknown key 'max_pages' (allowed here: style)",
        ),
        (
            '{url: "http://x/a", retries: 3}',
            f"{ARGS}.retries: unknown key 'retries'; did you mean 'retry'? (allowed here: url, params, headers, timeout, records, pagination, rate_limit, retry)",
        ),
        (
            '{url: "http://x/a", pagination: {style: pages}}',
            f"{ARGS}.pagination.style: expected one of none, page, offset, cursor, next_link, got the string 'pages'; did you mean 'page'?",
        ),
    ],
)
def test_wrong_args_are_reported_before_anything_runs(tmp_path: Path, plugins: Plugins, args: str, expected: str) -> None:
    assert _problems(tmp_path, plugins, args) == [expected]


def test_a_url_must_be_http(tmp_path: Path, plugins: Plugins) -> None:
    [problem] = _problems(tmp_path, plugins, '{url: "ftp://files.example.com/a"}')
    assert problem.startswith(f"{ARGS}.url: 'ftp://files.example.com/a' does not have the expected form")
