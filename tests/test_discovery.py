"""Plugin discovery through real installed distributions and their entry points.

The distributions under tests/distributions are pip-installed into this environment for the module
and uninstalled afterwards; nothing stands in for the entry-point machinery.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import cli, installed
from orchestrator.plugins.discovery import load_plugins, shared_plugins

NAMES = ["orchestrator-plugin-greeting", "orchestrator-plugin-broken", "orchestrator-plugin-badhook", "orchestrator-plugin-clash"]
ALL = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,greeting,broken,badhook,clash"}


@pytest.fixture(scope="module", autouse=True)
def test_distributions() -> Iterator[None]:
    with installed(*NAMES):
        yield


def _listing(env: dict[str, str]) -> dict:
    result = cli("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_third_party_plugin_is_listed_with_its_distribution_version_and_steps() -> None:
    listing = _listing(ALL)
    greeting = next(p for p in listing["plugins"] if p["name"] == "greeting")
    assert greeting["distribution"] == "orchestrator-plugin-greeting"
    assert greeting["version"] == "1.2.0"
    assert greeting["steps"] == {"extract": ["greeting.hello"], "transform": ["greeting.shout"]}
    assert greeting["hooks"] == ["register_extractors", "register_transformers"]
    builtin = next(p for p in listing["plugins"] if p["name"] == "builtin")
    assert builtin["distribution"] == "pipeline-orchestrator"
    assert "csv.read" in builtin["steps"]["extract"]


def test_broken_plugins_are_reported_with_name_distribution_version_and_error() -> None:
    failed = {f["name"]: f for f in _listing(ALL)["failed"]}
    assert set(failed) == {"broken", "badhook", "clash"}
    assert failed["broken"]["distribution"] == "orchestrator-plugin-broken"
    assert failed["broken"]["version"] == "0.0.1"
    assert "ModuleNotFoundError" in failed["broken"]["error"]
    assert "a_module_that_is_not_installed" in failed["broken"]["error"]
    assert "registry" in failed["badhook"]["error"] or "register_extractor" in failed["badhook"]["error"]
    assert failed["badhook"]["version"] == "0.3.0"


def test_name_clash_names_both_distributions() -> None:
    failed = {f["name"]: f for f in _listing(ALL)["failed"]}
    error = failed["clash"]["error"]
    assert "csv.read" in error
    assert "pipeline-orchestrator" in error and "orchestrator-plugin-clash 2.0.0" in error


def test_a_config_using_a_clashing_name_is_refused(write_config) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: in.csv}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """
    )
    result = cli("validate", str(config), env=ALL)
    assert result.returncode == 2
    assert "is registered by both" in result.stderr and "orchestrator-plugin-clash" in result.stderr
    assert cli("validate", str(config), env={**ALL, "ORCHESTRATOR_DISABLE_PLUGINS": "clash"}).returncode == 0


def test_pipeline_runs_a_step_from_a_third_party_distribution(write_config, tmp_path: Path) -> None:
    config = write_config(
        """
        pipelines:
          hello:
            type: ETL
            phases:
              extract: {steps: [{plugin: greeting.hello, args: {names: [ada, grace]}}]}
              transform: {steps: [{plugin: greeting.shout}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out/greetings.jsonl}}]}
        """
    )
    result = cli("run", str(config), env=ALL)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [json.loads(line) for line in (tmp_path / "out/greetings.jsonl").read_text().splitlines()]
    assert rows == [
        {"greeting": "HELLO ADA", "pipeline": "hello"},
        {"greeting": "HELLO GRACE", "pipeline": "hello"},
    ]
    assert "warning: plugin 'broken' from orchestrator-plugin-broken 0.0.1" in result.stderr


def test_third_party_args_schema_is_enforced(write_config) -> None:
    config = write_config(
        """
        pipelines:
          hello:
            type: ETL
            phases:
              extract: {steps: [{plugin: greeting.hello, args: {names: []}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """
    )
    result = cli("validate", str(config), env=ALL)
    assert result.returncode == 2
    assert "pipeline.yaml:6: $.pipelines.hello.phases.extract.steps[0].args.names:" in result.stderr


def test_strict_mode_makes_a_broken_plugin_fatal() -> None:
    result = cli("plugins", env={**ALL, "ORCHESTRATOR_STRICT_PLUGINS": "1"})
    assert result.returncode == 2
    assert "ORCHESTRATOR_STRICT_PLUGINS" in result.stderr
    assert "Traceback" not in result.stderr


def test_deny_list_and_allow_list() -> None:
    denied = _listing({**ALL, "ORCHESTRATOR_DISABLE_PLUGINS": "broken,orchestrator-plugin-badhook"})
    assert {f["name"] for f in denied["failed"]} == {"clash"}
    allowed = _listing({"ORCHESTRATOR_LOAD_PLUGINS": "orchestrator-plugin-greeting"})
    assert [p["name"] for p in allowed["plugins"]] == ["greeting"]
    assert allowed["failed"] == []


def test_trace_prints_hook_calls(write_config) -> None:
    config = write_config(
        """
        pipelines:
          hello:
            type: ETL
            phases:
              extract: {steps: [{plugin: greeting.hello, args: {names: [ada]}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """
    )
    result = cli("run", str(config), env={"ORCHESTRATOR_LOAD_PLUGINS": "builtin,greeting", "ORCHESTRATOR_TRACE_PLUGINS": "1"})
    assert result.returncode == 0, result.stderr
    assert "[hook] before_step_run(args, context)" in result.stderr
    assert "[hook] after_pipeline_run(context, elapsed, status)" in result.stderr


def test_in_process_discovery_sees_the_same_distributions() -> None:
    plugins = load_plugins(ALL)
    entry = plugins.registry.get("extract", "greeting.hello")
    assert entry is not None and entry.origin.distribution == "orchestrator-plugin-greeting"
    # the lazy "module:function" target is imported on first use
    shout = plugins.registry.get("transform", "greeting.shout")
    assert shout is not None and isinstance(shout.target, str)
    assert shout.resolve()(None, [{"greeting": "hi"}]) == [{"greeting": "HI"}]


def test_a_process_shares_its_plugins_until_the_selection_or_the_installation_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an engine's worker, running a pipeline per task through orchestrator.run, loads once."""
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", "builtin,greeting")
    first = shared_plugins()
    assert shared_plugins() is first
    assert first.registry.kinds_of("greeting.hello") == ["extract"]
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", "builtin")
    builtin_only = shared_plugins()
    assert builtin_only is not first and builtin_only.registry.kinds_of("greeting.hello") == []
    # a worker shipped the same selection gets the same plugins
    assert shared_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin,greeting"}) is first
    monkeypatch.syspath_prepend(str(tmp_path))  # another path: what is installed may differ
    reloaded = shared_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin,greeting"})
    assert reloaded is not first and reloaded.registry.kinds_of("greeting.hello") != []
    assert shared_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin,greeting"}) is reloaded
