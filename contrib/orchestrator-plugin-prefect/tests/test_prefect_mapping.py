"""How a pipeline's retry:, the file's params and the engine's names become Prefect's: checked on
the task and flow objects, without running them."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestrator_plugin_prefect import pipeline_flow
from orchestrator_plugin_prefect.retries import task_retry_options

from orchestrator.adapters import PipelineFailed
from orchestrator.config.policies import RetryPolicy, error_classes
from orchestrator.errors import ConfigError
from orchestrator.testing.adapters import listing_of


def test_attempts_become_retries_with_the_cores_waits() -> None:
    options = task_retry_options(RetryPolicy(attempts=4, backoff="exponential", initial=2.0, max=5.0, jitter=False))
    assert options["retries"] == 3
    assert options["retry_delay_seconds"] == [2.0, 4.0, 5.0]
    assert "retry_jitter_factor" not in options
    fixed = task_retry_options(RetryPolicy(attempts=3, backoff="fixed", initial=1.5, jitter=False))
    assert fixed["retry_delay_seconds"] == [1.5, 1.5]


def test_full_jitter_keeps_the_range_and_the_mean() -> None:
    options = task_retry_options(RetryPolicy(attempts=3, initial=2.0, max=60.0, jitter=True))
    # Prefect draws around the given wait, up to (1 + factor) times it: 0 to the core's bound
    assert options["retry_delay_seconds"] == [1.0, 2.0]
    assert options["retry_jitter_factor"] == 1.0


def test_no_retry_means_no_retries() -> None:
    assert task_retry_options(None)["retries"] == 0
    assert task_retry_options(RetryPolicy(attempts=1))["retries"] == 0


def test_retry_on_is_judged_as_the_core_judges_it() -> None:
    from prefect.states import Failed

    condition = task_retry_options(RetryPolicy(attempts=2, on=("builtins.ConnectionError",)))["retry_condition_fn"]

    def failed_with(error: BaseException) -> object:
        return Failed(data=PipelineFailed("p", "r", "failed", f"step 'get' failed: {error!r}", error_classes(error)))

    assert condition(None, None, failed_with(ConnectionError("reset")))
    assert condition(None, None, failed_with(ConnectionResetError("reset")))  # a subclass, as the core retries it
    assert not condition(None, None, failed_with(KeyError("id")))
    assert not condition(None, None, failed_with(ConfigError([])))  # the step's config error: never, as in the core
    assert not condition(None, None, Failed(data=ConfigError([])))  # the core refused the file: never retried
    every = task_retry_options(RetryPolicy(attempts=2))["retry_condition_fn"]
    assert every(None, None, failed_with(KeyError("id")))


def test_the_flow_is_named_after_the_file_and_takes_the_pipeline_selection(project: Path) -> None:
    flow = pipeline_flow(project / "scheduled.yaml")
    assert flow.name == "scheduled"
    assert set(flow.parameters.properties) == {"pipelines"}


def test_a_parameter_without_a_default_is_a_required_flow_parameter(project: Path) -> None:
    file = project / "needs_day.yaml"
    file.write_text(
        "params: {day: null, size: 10, strict: true}\n"
        "pipelines:\n  p:\n    type: ETL\n    phases:\n"
        "      extract: {steps: [{plugin: python.call, args: {callable: 'steps:rows', kwargs: {name: '${params.day}'}}}]}\n"
        "      load: {steps: [{plugin: jsonl.write, args: {path: out/p.jsonl}}]}\n"
    )
    schema = pipeline_flow(file).parameters
    assert schema.required == ["day"]
    assert (schema.properties["size"]["type"], schema.properties["size"]["default"]) == ("integer", 10)
    assert (schema.properties["strict"]["type"], schema.properties["strict"]["default"]) == ("boolean", True)


def test_a_file_parameter_named_pipelines_is_refused(project: Path) -> None:
    file = project / "clash.yaml"
    file.write_text((project / "retried.yaml").read_text().replace("params:\n", "params:\n  pipelines: all\n"))
    with pytest.raises(ConfigError, match=r"\$\.params\.pipelines: the parameter 'pipelines' has the name of the flow's own"):
        pipeline_flow(file)


def test_a_bad_file_raises_the_cores_error_with_its_line(project: Path) -> None:
    file = project / "broken.yaml"
    file.write_text("pipelines:\n  p:\n    type: ETL\n    depends_on: [nowhere]\n    phases: {}\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: "):
        pipeline_flow(file)


def test_orchestrator_plugins_lists_the_engine_without_importing_prefect() -> None:
    imported, shown = listing_of("prefect")
    assert imported == []
    assert "orchestrator-plugin-prefect" in shown
    assert "engines:           prefect" in shown
