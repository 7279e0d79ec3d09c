"""``orchestrator convert pipeline-flow`` on pipeline-flow's own documented examples
(``tests/pipeline_flow``, see its README): each converts to the snapshot in ``expected/``, what
has no equivalent is listed on stderr, the complete examples validate, and where their plugins
have counterparts here (the placeholders as a plugin of the test, ``rest_api_extractor`` as
``http.get`` against a real server on 127.0.0.1) the converted pipelines run."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from helpers import cli
from orchestrator import hookimpl
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.plugins.discovery import Plugins, load_plugins
from orchestrator.plugins.registry import Origin

EXAMPLES = Path(__file__).parent / "pipeline_flow"
EXPECTED = EXAMPLES / "expected"
COMPLETE = ("etl_example", "elt_example", "etlt_example")


def examples() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("name", examples())
def test_each_documented_example_converts_to_its_snapshot(name: str) -> None:
    result = cli("convert", "pipeline-flow", f"{name}.yaml", cwd=EXAMPLES)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        EXPECTED.mkdir(exist_ok=True)
        (EXPECTED / f"{name}.yaml").write_text(result.stdout, encoding="utf-8")
        (EXPECTED / f"{name}.notes").write_text(result.stderr, encoding="utf-8")
    assert result.stdout == (EXPECTED / f"{name}.yaml").read_text(encoding="utf-8")
    assert result.stderr == (EXPECTED / f"{name}.notes").read_text(encoding="utf-8")


class Placeholders:
    """The documentation's placeholder plugins, as a user would provide them: an extract that
    returns its args as a row, a transform that marks rows, a load that keeps what it got."""

    loaded: list[dict[str, Any]] = []

    @hookimpl
    def register_extractors(self, register: Any) -> None:
        register("EXTRACT_PLUGIN", lambda ctx, **args: [{"from": "EXTRACT_PLUGIN", **args}])

    @hookimpl
    def register_transformers(self, register: Any) -> None:
        register("TRANSFORM_PLUGIN", lambda ctx, data, **args: [{**row, "transformed": True} for row in data])

    @hookimpl
    def register_loaders(self, register: Any) -> None:
        def load(ctx: Any, batches: Any, **args: Any) -> int:
            rows = [row for batch in batches for row in batch]
            Placeholders.loaded.extend(rows)
            return len(rows)

        register("LOAD_PLUGIN", load)

    @hookimpl
    def register_load_transformers(self, register: Any) -> None:
        register("TRANSFORM_PLUGIN", lambda ctx, **args: {"rows": len(Placeholders.loaded)})


@pytest.fixture
def with_placeholders() -> Iterator[Plugins]:
    plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin,http"})
    assert plugins.add(Placeholders(), Origin("placeholders", "tests", "0"))
    Placeholders.loaded = []
    yield plugins


def convert(name: str, into: Path, env: dict[str, str] | None = None) -> Path:
    target = into / f"{name}.yaml"
    result = cli("convert", "pipeline-flow", str(EXAMPLES / f"{name}.yaml"), "-o", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    return target


@pytest.mark.parametrize("name", COMPLETE)
def test_the_complete_examples_validate_and_run_once_their_plugins_exist(name: str, tmp_path: Path, with_placeholders: Plugins) -> None:
    plan = load_plan(convert(name, tmp_path), with_placeholders.registry)
    result = Engine(plan, with_placeholders).run_sync()
    assert result.ok, {n: o.error for n, o in result.pipelines.items()}
    row = {"from": "EXTRACT_PLUGIN", "ARG1": "VALUE1", "ARG2": "VALUE2"}
    assert Placeholders.loaded == ([row] if name == "elt_example" else [{**row, "transformed": True}])


def test_the_converted_placeholder_examples_fail_validation_only_where_the_notes_said(tmp_path: Path) -> None:
    """The incomplete examples: validate names the phases the notes said were placeholders."""
    converted = convert("variables_example", tmp_path)
    result = cli("validate", str(converted), cwd=tmp_path)
    assert result.returncode == 2
    assert "an ELT pipeline needs an 'extract' phase" in result.stderr
    assert "unknown load plugin 'db_loader'" in result.stderr
    assert result.stderr.endswith("2 problems found.\n")


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A JSON API with pipeline-flow's page-based pagination, answering only the right token."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
            if self.headers.get("Authorization") != "Bearer t0ken-from-the-vault":
                self.send_response(401)
                self.end_headers()
                return
            page = 2 if self.path.endswith("page=2") else 1
            body = {"data": [{"id": page * 10 + i} for i in range(2)], "pagination": {"has_more": page == 1}}
            if page == 1:
                body["pagination"]["next_page"] = f"http://127.0.0.1:{self.server.server_port}/v1/users?page=2"
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


def test_rest_api_extractor_runs_as_http_get_with_the_secret_from_the_environment(
    tmp_path: Path, with_placeholders: Plugins, api: tuple[str, list[dict[str, str]]]
) -> None:
    base_url, seen = api
    converted = convert("rest_api_assembled", tmp_path)
    env = {"API_BASE_URL": base_url, "API_TOKEN_SECRET": "t0ken-from-the-vault"}
    plan = load_plan(converted, with_placeholders.registry, env=env)
    assert "t0ken-from-the-vault" in plan.secrets  # redacted from everything the run writes
    result = Engine(plan, with_placeholders).run_sync()
    assert result.ok, {n: o.error for n, o in result.pipelines.items()}
    assert [row["id"] for row in Placeholders.loaded] == [10, 11, 20, 21]
    assert [request["path"] for request in seen] == ["/v1/users", "/v1/users?page=2"]


def test_not_a_pipeline_flow_file_is_an_error_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text("variables: {A: 1}\n---\nsteps: []\n", encoding="utf-8")
    result = cli("convert", "pipeline-flow", "old.yaml", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("old.yaml:1: this is not a pipeline-flow config")
    missing = cli("convert", "pipeline-flow", "missing.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "missing.yaml: no such file" in missing.stderr


def test_references_become_parameters_environment_variables_and_escaped_text(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text(
        "variables:\n  TABLE: users\n  COLUMNS: [id, name]\n---\npipelines:\n  p:\n    type: ETL\n    phases:\n"
        "      extract: {steps: [{plugin: EXTRACT_PLUGIN, args: {table: '${{ variables.TABLE }}', columns: '${{ variables.COLUMNS }}',"
        " home: '${HOME}/x', url: '${{ env.DB_URL }}/db', missing: '${{ variables.DAY }}'}}]}\n"
        "      load: {steps: [{plugin: LOAD_PLUGIN}]}\n",
        encoding="utf-8",
    )
    result = cli("convert", "pipeline-flow", "old.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "params:\n  TABLE: users\n  DAY: null\n" in result.stdout
    assert "table: ${params.TABLE}" in result.stdout
    assert "columns:\n            - id\n            - name\n" in result.stdout
    assert "home: $${HOME}/x" in result.stdout
    assert "url: ${DB_URL}/db" in result.stdout
    assert "pass --param DAY=VALUE" in result.stderr
