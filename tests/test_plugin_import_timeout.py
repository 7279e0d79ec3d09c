"""A plugin whose import hangs is named, given up and reported; the command itself goes on.

The distribution under tests/distributions/orchestrator-plugin-hang is really installed: its module
sleeps for an hour at import, as one waiting on an unreachable server would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from helpers import cli, installed

WITH_HANG = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,hang", "ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT": "2"}


@pytest.fixture(scope="module", autouse=True)
def hanging_distribution() -> Iterator[None]:
    with installed("orchestrator-plugin-hang"):
        yield


def test_a_hanging_plugin_is_named_then_reported_and_the_listing_still_comes() -> None:
    result = cli("plugins", "--json", env=WITH_HANG, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "still importing plugin 'hang' of orchestrator-plugin-hang 0.0.1" in result.stderr
    listing = json.loads(result.stdout)
    failed = {entry["name"]: entry for entry in listing["failed"]}
    assert "did not finish within 2 s" in failed["hang"]["error"]
    assert "csv.read" in next(p for p in listing["plugins"] if p["name"] == "builtin")["steps"]["extract"]


def test_a_run_goes_on_without_the_hanging_plugin(tmp_path) -> None:
    (tmp_path / "pipeline.yaml").write_text(
        "pipelines:\n"
        "  copy:\n"
        "    type: ETL\n"
        "    phases:\n"
        "      extract: {steps: [{plugin: csv.read, args: {path: in.csv}}]}\n"
        "      load: {steps: [{plugin: csv.write, args: {path: out.csv}}]}\n",
        encoding="utf-8",
    )
    (tmp_path / "in.csv").write_text("id\n1\n2\n", encoding="utf-8")
    result = cli("run", "pipeline.yaml", env={**WITH_HANG, "ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT": "1.5"}, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines() == ["id", "1", "2"]
    assert "did not finish within 1.5 s" in result.stderr + result.stdout


def test_an_unreadable_limit_keeps_the_default() -> None:
    from orchestrator.plugins.imports import DEFAULT_TIMEOUT, timeout_from

    assert timeout_from({"ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT": "soon"}) == DEFAULT_TIMEOUT
    assert timeout_from({"ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT": "nan"}) == DEFAULT_TIMEOUT
    assert timeout_from({"ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT": "-1"}) == DEFAULT_TIMEOUT
    assert timeout_from({"ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT": "0.5"}) == 0.5
