"""How a pipeline's retry:, the file's params and names become Dagster's, checked on the
definitions without running them; and the engine as ``orchestrator plugins`` lists it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from orchestrator_plugin_dagster import definitions_from
from orchestrator_plugin_dagster.assets import retry_policy, worth_retrying

from orchestrator.adapters import PipelineFailed
from orchestrator.config.policies import RetryPolicy
from orchestrator.errors import ConfigError
from orchestrator.testing.adapters import listing_of


def test_attempts_become_a_retry_policy() -> None:
    policy = retry_policy(RetryPolicy(attempts=4, backoff="exponential", initial=2.0, max=5.0, jitter=True))
    assert policy == dg.RetryPolicy(max_retries=3, delay=2.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL)
    fixed = retry_policy(RetryPolicy(attempts=2, backoff="fixed", initial=1.5, jitter=False))
    assert fixed == dg.RetryPolicy(max_retries=1, delay=1.5)
    assert retry_policy(None) is None
    assert retry_policy(RetryPolicy(attempts=1)) is None


def test_the_asset_carries_the_pipelines_retry_policy(project: Path) -> None:
    defs = definitions_from(project / "retried.yaml")
    people = defs.resolve_assets_def(dg.AssetKey(["retried", "people"]))
    assert people.node_def.retry_policy == dg.RetryPolicy(max_retries=1, delay=0.01, backoff=dg.Backoff.EXPONENTIAL)


def test_retry_on_names_the_errors_worth_retrying() -> None:
    policy = RetryPolicy(attempts=2, on=("builtins.ConnectionError",))
    assert worth_retrying(policy, PipelineFailed("p", "r", "failed", "step 'get' failed: ConnectionError: reset"))
    assert not worth_retrying(policy, PipelineFailed("p", "r", "failed", "step 'get' failed: KeyError: 'id'"))
    assert worth_retrying(RetryPolicy(attempts=2), PipelineFailed("p", "r", "failed", "step 'get' failed: KeyError: 'id'"))


def test_the_file_parameters_are_the_config_of_a_resource(project: Path) -> None:
    file = project / "needs_day.yaml"
    file.write_text(
        "params: {day: null, size: 10, strict: true, home: '${HOME_DIR:-out}'}\n"
        "pipelines:\n  p:\n    type: ETL\n    phases:\n"
        "      extract: {steps: [{plugin: python.call, args: {callable: 'steps:rows', kwargs: {name: '${params.day}'}}}]}\n"
        "      load: {steps: [{plugin: jsonl.write, args: {path: '${params.home}/p.jsonl'}}]}\n"
    )
    fields = definitions_from(file).resources["pipeline_params"].config_schema.as_field().config_type.fields
    assert fields["day"].is_required
    assert (fields["size"].default_value, fields["size"].config_type.given_name) == (10, "Int")
    assert (fields["strict"].default_value, fields["strict"].config_type.given_name) == (True, "Bool")
    assert fields["home"].default_value is None  # reads the environment: the file's own default applies


def test_pipeline_names_become_dagster_names_and_a_clash_is_refused(project: Path) -> None:
    file = project / "dotted.yaml"
    body = "    type: ETL\n    phases:\n      extract: {steps: [{plugin: python.call, args: {callable: 'steps:rows', kwargs: {name: x}}}]}\n      load: {steps: [{plugin: jsonl.write, args: {path: out/x.jsonl}}]}\n"
    file.write_text("pipelines:\n  sales.eu:\n" + body + "  sales-us:\n" + body)
    keys = {key.path[-1] for key in definitions_from(file).resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"sales_eu", "sales_us"}
    file.write_text("pipelines:\n  sales.eu:\n" + body + "  sales_eu:\n" + body)
    with pytest.raises(ConfigError, match=r"\$\.pipelines\.sales_eu: pipelines 'sales\.eu' and 'sales_eu' would both be the Dagster asset 'sales_eu'"):
        definitions_from(file)


def test_a_bad_file_raises_the_cores_error_with_its_line(project: Path) -> None:
    file = project / "broken.yaml"
    file.write_text("pipelines:\n  p:\n    type: ETL\n    depends_on: [nowhere]\n    phases: {}\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: "):
        definitions_from(file)


def test_orchestrator_plugins_lists_the_engine_without_importing_dagster() -> None:
    imported, shown = listing_of("dagster")
    assert imported == []
    assert "orchestrator-plugin-dagster" in shown
    assert "engines:           dagster" in shown
