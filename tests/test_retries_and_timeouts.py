"""Retries with backoff and timeouts, for steps and for whole pipelines, on real runs."""

from __future__ import annotations

import pytest

from orchestrator.config.plan import load_plan
from orchestrator.config.policies import RetryPolicy
from orchestrator.engine import Engine
from orchestrator.errors import ConfigError
from orchestrator.events import Event

FLAKY = '''
import time, anyio

def _bump(context, name):
    counter = context.path(name)
    count = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(count))
    return count

def fails_twice(context):
    if _bump(context, "extract.count") <= 2:
        raise ConnectionError("the source hung up")
    return [{"n": 1}, {"n": 2}]

def always_fails(context):
    _bump(context, "always.count")
    raise ConnectionError("still down")

def wrong_value(context):
    _bump(context, "value.count")
    raise ValueError("bad row")

def rows():
    return [{"n": 1}, {"n": 2}]

def transform_fails_once(rows, context):
    if _bump(context, "transform.count") == 1:
        raise TimeoutError("slow dependency")
    return [{**r, "seen": True} for r in rows]

def load_fails_once(batch, context):
    if _bump(context, "load.count") == 1:
        raise OSError("disk busy")
    with open(context.path("loaded.txt"), "a") as handle:
        handle.write(f"{len(batch)}\\n")
    return len(batch)

def pipeline_fails_once(context):
    if _bump(context, "pipeline.count") == 1:
        raise RuntimeError("first run breaks")
    return [{"n": 1}]

async def sleeps(context):
    await anyio.sleep(5)
    return []

def blocks(context):
    deadline = time.monotonic() + 60
    while not context.path("release").exists() and time.monotonic() < deadline:  # held until the test saw the run end
        time.sleep(0.01)
    context.path("finished.txt").write_text("yes")
    return []

def slow_second_batch(context):
    yield [{"n": 1}]
    time.sleep(1.5)
    yield [{"n": 2}]
'''

FAST = "{attempts: 3, initial: 10ms, jitter: false}"


def run(plugins, write_config, phases: str, *, top: str = "", pipeline: str = ""):
    config = write_config(
        f"{top}\npipelines:\n  p:\n    type: ETL\n{pipeline}    phases:\n{phases}", **{"flaky.py": FLAKY}
    )
    events: list[Event] = []
    result = Engine(load_plan(config, plugins.registry), plugins, events.append).run_sync()
    return result.pipelines["p"], events


LOAD = "      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}\n"


def extract(callable_: str, extra: str = "") -> str:
    return f"      extract: {{steps: [{{id: src, plugin: python.call, args: {{callable: 'flaky:{callable_}'}}{extra}}}]}}\n"


def test_a_step_is_retried_with_backoff_until_it_succeeds(plugins, write_config, tmp_path) -> None:
    outcome, events = run(plugins, write_config, extract("fails_twice", f", retry: {FAST}") + LOAD)
    assert outcome.status == "succeeded", outcome.error
    source = outcome.steps[0]
    assert (source.step, source.attempts, source.rows) == ("src", 3, 2)
    retries = [e for e in events if e.kind == "step_retry"]
    assert [(e.step, e.status, e.error) for e in retries] == [
        ("src", "attempt 2 of 3", "ConnectionError: the source hung up"),
        ("src", "attempt 3 of 3", "ConnectionError: the source hung up"),
    ]
    assert [e.elapsed for e in retries] == [0.01, 0.02]  # exponential, no jitter
    assert (tmp_path / "extract.count").read_text() == "3"


def test_retries_stop_after_the_last_attempt(plugins, write_config, tmp_path) -> None:
    outcome, _ = run(plugins, write_config, extract("always_fails", f", retry: {FAST}") + LOAD)
    assert outcome.status == "failed"
    assert outcome.error == "step 'src' (python.call) failed: ConnectionError: still down"
    assert outcome.steps[0].attempts == 3
    assert (tmp_path / "always.count").read_text() == "3"


def test_only_the_listed_exceptions_are_retried(plugins, write_config, tmp_path) -> None:
    policy = "{attempts: 3, initial: 10ms, on: [ConnectionError]}"
    outcome, events = run(plugins, write_config, extract("wrong_value", f", retry: {policy}") + LOAD)
    assert outcome.status == "failed" and outcome.steps[0].attempts == 1
    assert not [e for e in events if e.kind == "step_retry"]
    assert (tmp_path / "value.count").read_text() == "1"


def test_defaults_apply_to_every_step(plugins, write_config, tmp_path) -> None:
    phases = (
        extract("rows")
        + "      transform: {steps: [{id: mark, plugin: python.call, args: {callable: 'flaky:transform_fails_once'}}]}\n"
        + "      load: {steps: [{id: out, plugin: python.call, args: {callable: 'flaky:load_fails_once'}}]}\n"
    )
    outcome, _ = run(plugins, write_config, phases, top=f"defaults:\n  retry: {FAST}")
    assert outcome.status == "succeeded", outcome.error
    assert {s.step: s.attempts for s in outcome.steps} == {"src": 1, "mark": 2, "out": 2}
    assert (tmp_path / "loaded.txt").read_text() == "2\n"  # the retried load wrote its rows once


def test_an_async_step_times_out(plugins, write_config) -> None:
    outcome, _ = run(plugins, write_config, extract("sleeps", ", timeout: 100ms") + LOAD)
    assert outcome.error == "step 'src' (python.call) failed: timed out after 100ms"
    assert outcome.elapsed < 5


def test_a_sync_step_that_times_out_is_abandoned_not_waited_for(plugins, write_config, tmp_path) -> None:
    outcome, _ = run(plugins, write_config, extract("blocks", ", timeout: 100ms") + LOAD)
    assert not (tmp_path / "finished.txt").exists()  # the run ended while the thread was still held
    (tmp_path / "release").touch()
    assert outcome.error == "step 'src' (python.call) failed: timed out after 100ms"


def test_a_streaming_step_times_out_per_batch(plugins, write_config, tmp_path) -> None:
    outcome, _ = run(plugins, write_config, extract("slow_second_batch", ", timeout: 300ms") + LOAD)
    assert outcome.error == "step 'src' (python.call) failed: timed out after 300ms"


def test_a_pipeline_is_retried_from_its_start(plugins, write_config, tmp_path) -> None:
    outcome, events = run(
        plugins, write_config, extract("pipeline_fails_once") + LOAD, pipeline=f"    retry: {FAST}\n"
    )
    assert outcome.status == "succeeded", outcome.error
    assert outcome.attempts == 2
    assert [s.status for s in outcome.steps] == ["succeeded", "succeeded"]  # the last attempt's steps
    (retry,) = [e for e in events if e.kind == "pipeline_retry"]
    assert retry.error == "step 'src' (python.call) failed: RuntimeError: first run breaks"
    assert [e.kind for e in events].count("pipeline_started") == 1


def test_a_pipeline_times_out_as_a_whole(plugins, write_config) -> None:
    outcome, _ = run(plugins, write_config, extract("sleeps") + LOAD, pipeline="    timeout: 200ms\n")
    assert (outcome.status, outcome.error) == ("failed", "timed out after 200ms")


def test_backoff_grows_to_its_cap_and_jitter_stays_below_the_bound() -> None:
    fixed = RetryPolicy(attempts=5, backoff="fixed", initial=2.0, max=60.0, jitter=False)
    exponential = RetryPolicy(attempts=6, initial=1.0, max=5.0, jitter=False)
    assert [fixed.delay(n) for n in range(1, 4)] == [2.0, 2.0, 2.0]
    assert [exponential.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = RetryPolicy(initial=1.0, max=8.0)
    draws = [jittered.delay(3) for _ in range(200)]
    assert all(0 <= d <= 4.0 for d in draws) and len(set(draws)) > 100


def test_config_errors_are_never_retried() -> None:
    from orchestrator.errors import Problem

    assert not RetryPolicy().retries(ConfigError([Problem("f", 1, "$", "bad")]))
    assert RetryPolicy(on=("OSError",)).retries(ConnectionError())  # subclasses count


class _Outer:
    class Throttled(ConnectionError):
        """A nested class: its path is module.Outer.Throttled, its name Throttled."""


def test_a_policy_judges_an_errors_class_paths_as_it_judges_the_error() -> None:
    """What an engine adapter has of a step's error (its class paths) is judged exactly as the
    error itself, base classes, nested classes and config errors included."""
    from orchestrator.config.policies import error_classes
    from orchestrator.errors import Problem

    errors = [
        ConnectionError(), _Outer.Throttled(), KeyError("id"), TimeoutError(), OSError(),
        ConfigError([Problem("f", 1, "$", "bad")]),
    ]
    policies = [
        RetryPolicy(), RetryPolicy(on=("OSError",)), RetryPolicy(on=("builtins.ConnectionError",)),
        RetryPolicy(on=("Throttled",)), RetryPolicy(on=("ConfigError", "LookupError")), RetryPolicy(on=("Exception",)),
    ]
    for policy in policies:
        for error in errors:
            assert policy.retries_classes(error_classes(error)) == policy.retries(error), (policy.on, error)
    assert error_classes(_Outer.Throttled())[:2] == (f"{__name__}._Outer.Throttled", "builtins.ConnectionError")
    assert RetryPolicy(on=("Throttled",)).retries_classes(error_classes(_Outer.Throttled()))
    assert not RetryPolicy(on=("ConfigError",)).retries_classes(error_classes(errors[-1]))


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("timeout: 30 seconds", "timeout"),
        ("retry: {attempts: 0}", "attempts"),
        ("retry: {backof: fixed}", "unknown key 'backof'; did you mean 'backoff'?"),
    ],
)
def test_bad_policies_are_config_errors(plugins, write_config, snippet: str, message: str) -> None:
    config = write_config(
        f"pipelines:\n  p:\n    type: ETL\n    {snippet}\n    phases:\n" + extract("rows") + LOAD, **{"flaky.py": FLAKY}
    )
    with pytest.raises(ConfigError, match=message):
        load_plan(config, plugins.registry)
