"""The documentation page keeps its promises: every full YAML example on it is a valid config,
the cluster examples run (on the session's real cluster and on a LocalCluster), the options table
is exactly the schema, and the error text it shows is what ``validate`` prints."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine

from dask_support import BIN, PLUGINS, REPO
from orchestrator_plugin_dask.schema import OPTIONS

PAGE = REPO / "docs" / "plugins" / "contrib" / "dask.md"
TITLED = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)


def titled_blocks() -> list[tuple[str, str, str]]:
    return TITLED.findall(PAGE.read_text(encoding="utf-8"))


@pytest.fixture
def page_files(tmp_path: Path) -> Path:
    for _, name, text in titled_blocks():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_every_full_yaml_example_is_a_valid_config(page_files, plugins, monkeypatch) -> None:
    monkeypatch.setenv("DASK_ADDRESS", "tcp://127.0.0.1:8786")
    configs = [name for kind, name, text in titled_blocks() if kind == "yaml" and re.search(r"^pipelines:", text, re.MULTILINE)]
    assert configs == ["pipeline.yaml", "local.yaml", "gpu.yaml"]
    for name in configs:
        plan = load_plan(page_files / name, plugins.registry)
        assert {p.executor.name for p in plan.pipelines.values()} == {"dask"}, name


def test_the_existing_cluster_example_runs_on_the_cluster(cluster, page_files, plugins, monkeypatch) -> None:
    monkeypatch.setenv("DASK_ADDRESS", cluster.address)
    result = Engine(load_plan(page_files / "pipeline.yaml", plugins.registry), plugins).run_sync()
    assert result.ok, {n: p.error for n, p in result.pipelines.items()}
    with sqlite3.connect(page_files / "out/warehouse.db") as db:
        assert db.execute("SELECT id, name FROM customers ORDER BY id").fetchall() == [(1, "Ada"), (2, "Grace"), (3, "Alan")]
        assert db.execute("SELECT country, customers FROM countries ORDER BY country").fetchall() == [("GB", 2), ("US", 1)]


def test_the_local_cluster_example_runs(page_files, plugins) -> None:
    result = Engine(load_plan(page_files / "local.yaml", plugins.registry), plugins).run_sync()
    assert result.ok, {n: p.error for n, p in result.pipelines.items()}
    with open(page_files / "out/customers.csv", newline="") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == ["Ada", "Grace", "Alan"]


def test_the_options_table_documents_exactly_the_schema() -> None:
    text = PAGE.read_text(encoding="utf-8").split("## Options", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE)
    assert documented == list(OPTIONS["properties"])


def test_the_error_shown_for_a_misspelt_option_is_what_validate_prints(tmp_path) -> None:
    shown = next(line for line in PAGE.read_text(encoding="utf-8").splitlines() if "unknown key 'adress'" in line)
    (tmp_path / "pipeline.yaml").write_text(
        "executor: {name: dask, adress: 'tcp://127.0.0.1:8786'}\n"
        "pipelines:\n  p:\n    type: ETL\n    phases:\n"
        "      extract: {steps: [{id: raw, plugin: csv.read, args: {path: in.csv}}]}\n"
        "      load: {steps: [{id: out, plugin: csv.write, args: {path: out.csv}}]}\n"
    )
    result = subprocess.run(
        [str(BIN / "orchestrator"), "validate", "pipeline.yaml"], capture_output=True, text=True, timeout=60,
        cwd=tmp_path, env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": PLUGINS},
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == shown
