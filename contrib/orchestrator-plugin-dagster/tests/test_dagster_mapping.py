"""How a pipeline's retry:, the file's params and names become Dagster's, checked on the
definitions without running them; and the engine as ``orchestrator plugins`` lists it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from orchestrator_plugin_dagster import definitions_from
from orchestrator_plugin_dagster.retries import core_bounds, dagster_bounds, retry_policy, worth_retrying

from orchestrator.adapters import PipelineFailed
from orchestrator.config.policies import RetryPolicy, error_classes
from orchestrator.errors import ConfigError
from orchestrator.testing.adapters import REPO, listing_of


def test_attempts_become_a_retry_policy() -> None:
    policy = retry_policy(RetryPolicy(attempts=4, backoff="exponential", initial=2.0, max=5.0, jitter=True))
    assert policy == dg.RetryPolicy(max_retries=3, delay=2.0, backoff=dg.Backoff.LINEAR, jitter=dg.Jitter.FULL)
    fixed = retry_policy(RetryPolicy(attempts=2, backoff="fixed", initial=1.5, jitter=False))
    assert fixed == dg.RetryPolicy(max_retries=1, delay=1.5)
    assert retry_policy(None) is None
    assert retry_policy(RetryPolicy(attempts=1)) is None


@pytest.mark.parametrize(
    ("policy", "waits"),
    [
        # the core's waits, when Dagster can wait them: constant ones, and d, 2d
        (RetryPolicy(attempts=4, backoff="fixed", initial=2.0, max=60.0), [2.0, 2.0, 2.0]),
        (RetryPolicy(attempts=4, initial=10.0, max=5.0), [5.0, 5.0, 5.0]),
        (RetryPolicy(attempts=2, initial=3.0), [3.0]),
        (RetryPolicy(attempts=3, initial=1.0, max=60.0), [1.0, 2.0]),
        # the closest Dagster has: linear while the core's doubling is short or capped...
        (RetryPolicy(attempts=4, initial=1.0, max=60.0), [1.0, 2.0, 3.0]),  # core: 1, 2, 4
        (RetryPolicy(attempts=6, initial=1.0, max=4.0), [1.0, 2.0, 3.0, 4.0, 5.0]),  # core: 1, 2, 4, 4, 4
        (RetryPolicy(attempts=8, initial=1.0, max=2.0), [1.0] * 7),  # core: 1, 2, 2, 2, 2, 2, 2
        # ...and (2**n - 1) * d when it doubles for long: never more than twice the core's wait
        (RetryPolicy(attempts=5, initial=1.0, max=60.0), [1.0, 3.0, 7.0, 15.0]),  # core: 1, 2, 4, 8
    ],
)
def test_dagsters_waits_are_the_closest_it_has_to_the_cores(policy: RetryPolicy, waits: list[float]) -> None:
    mapped = retry_policy(policy)
    assert mapped is not None and mapped.max_retries == policy.attempts - 1
    assert dagster_bounds(mapped) == waits  # as Dagster itself computes them
    worst = max(max(wait / bound, bound / wait) for wait, bound in zip(waits, core_bounds(policy), strict=True))
    for backoff in (None, dg.Backoff.LINEAR, dg.Backoff.EXPONENTIAL):  # no growth of Dagster's strays less
        other = dagster_bounds(dg.RetryPolicy(max_retries=mapped.max_retries, delay=mapped.delay, backoff=backoff))
        assert worst <= max(max(wait / bound, bound / wait) for wait, bound in zip(other, core_bounds(policy), strict=True))


def test_the_docs_table_of_retry_waits_is_what_the_core_and_dagster_wait() -> None:
    page = (REPO / "docs" / "engines" / "dagster.md").read_text(encoding="utf-8")
    section = page.split("## Retry waits", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("| ").split(" | ") for line in section.splitlines() if line.startswith("| `{")]
    assert len(rows) == 6
    names = {None: "no backoff", dg.Backoff.LINEAR: "LINEAR", dg.Backoff.EXPONENTIAL: "EXPONENTIAL"}
    for written, core, dagster in rows:
        policy = RetryPolicy.from_config({**yaml.safe_load(written.strip(" `")), "jitter": False})
        mapped = retry_policy(policy)
        assert mapped is not None
        assert core.strip() == ", ".join(f"{wait:g}s" for wait in core_bounds(policy)), written
        shown = f"{', '.join(f'{wait:g}s' for wait in dagster_bounds(mapped))} ({names[mapped.backoff]})"
        assert dagster.strip().replace("`", "") == shown, written


def test_full_jitter_draws_each_wait_below_its_bound_as_the_core_does() -> None:
    mapped = retry_policy(RetryPolicy(attempts=3, initial=1.0, jitter=True))
    assert mapped is not None and mapped.jitter is dg.Jitter.FULL
    assert all(0 <= mapped.calculate_delay(2) <= 2.0 for _ in range(200))


def test_the_asset_carries_the_pipelines_retry_policy(project: Path) -> None:
    defs = definitions_from(project / "retried.yaml")
    people = defs.resolve_assets_def(dg.AssetKey(["retried", "people"]))
    assert people.node_def.retry_policy == dg.RetryPolicy(max_retries=1, delay=0.01)


def test_retry_on_is_judged_as_the_core_judges_it() -> None:
    policy = RetryPolicy(attempts=2, on=("builtins.ConnectionError",))

    def failed_with(error: BaseException) -> PipelineFailed:
        return PipelineFailed("p", "r", "failed", f"step 'get' failed: {error!r}", error_classes(error))

    assert worth_retrying(policy, failed_with(ConnectionError("reset")))
    assert worth_retrying(policy, failed_with(ConnectionResetError("reset")))  # a subclass, as the core retries it
    assert not worth_retrying(policy, failed_with(KeyError("id")))
    assert worth_retrying(RetryPolicy(attempts=2), failed_with(KeyError("id")))
    assert not worth_retrying(RetryPolicy(attempts=2), failed_with(ConfigError([])))  # never, as in the core


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
