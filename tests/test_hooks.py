"""One test per hookspec (``test_hook_<name>``): each hook fires when documented, with the documented
arguments. tests/test_docs.py checks that every hookspec has such a test."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator import hookimpl
from orchestrator.config.plan import load_plan
from orchestrator.context import PipelineContext, StepContext
from orchestrator.engine import Engine
from orchestrator.events import Event, RunResult
from orchestrator.plugins.discovery import Plugins
from orchestrator.plugins.registry import Origin

PIPELINE = """
pipelines:
  p:
    type: ETLT
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "hk:rows"}}]}
      transform: {steps: [{id: tx, plugin: python.call, args: {callable: "hk:same"}}]}
      load: {steps: [{id: out, plugin: sqlite.write, args: {database: out.db, table: t}}]}
      transform_at_load: {steps: [{id: sql, plugin: sqlite.execute, args: {database: out.db, sql: "DELETE FROM t WHERE n = 0"}}]}
"""
HK = "def rows():\n    return [{'n': 0}, {'n': 1}]\n\ndef same(rows):\n    return rows\n\ndef fail(rows):\n    raise KeyError('missing')\n"


class Recorder:
    """Records every lifecycle hook call as (hook, details)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hookimpl
    def before_pipeline_run(self, context: PipelineContext) -> None:
        self.calls.append(("before_pipeline_run", (type(context).__name__, context.pipeline, context.run_id)))

    @hookimpl
    def after_pipeline_run(self, context: PipelineContext, status: str, elapsed: float) -> None:
        self.calls.append(("after_pipeline_run", (context.pipeline, status, elapsed >= 0)))

    @hookimpl
    def on_pipeline_error(self, context: PipelineContext, error: BaseException) -> None:
        self.calls.append(("on_pipeline_error", (context.pipeline, str(error))))

    @hookimpl
    def before_phase_run(self, context: PipelineContext, phase: str) -> None:
        self.calls.append(("before_phase_run", phase))

    @hookimpl
    def after_phase_run(self, context: PipelineContext, phase: str, elapsed: float) -> None:
        self.calls.append(("after_phase_run", phase))

    @hookimpl
    def before_step_run(self, context: StepContext, args: dict[str, Any]) -> None:
        self.calls.append(("before_step_run", (context.phase, context.step_id, context.plugin, sorted(args))))

    @hookimpl
    def after_step_run(self, context: StepContext, rows: int | None, elapsed: float) -> None:
        self.calls.append(("after_step_run", (context.step_id, rows)))

    @hookimpl
    def on_step_error(self, context: StepContext, error: BaseException) -> None:
        self.calls.append(("on_step_error", (context.step_id, type(error).__name__)))

    @hookimpl
    def on_retry_exhausted(self, context: PipelineContext, step: str | None, error: BaseException, attempts: int) -> None:
        self.calls.append(("on_retry_exhausted", (type(context).__name__, getattr(context, "step_id", None), step, str(error), attempts)))

    def of(self, hook: str) -> list[Any]:
        return [details for name, details in self.calls if name == hook]


def _run(plugins: Plugins, write_config, text: str = PIPELINE) -> tuple[Recorder, RunResult]:
    recorder = Recorder()
    assert plugins.add(recorder, Origin("recorder", "tests", "0"))
    config = write_config(text, **{"hk.py": HK})
    plan = load_plan(config, plugins.registry)
    return recorder, Engine(plan, plugins).run_sync()


FAILING = PIPELINE.replace('"hk:same"', '"hk:fail"')


# -- lifecycle ------------------------------------------------------------------------------------


def test_hook_before_pipeline_run(plugins, write_config) -> None:
    recorder, result = _run(plugins, write_config)
    assert recorder.of("before_pipeline_run") == [("PipelineContext", "p", result.run_id)]
    assert recorder.calls[0][0] == "before_pipeline_run"


def test_hook_after_pipeline_run(plugins, write_config) -> None:
    recorder, _ = _run(plugins, write_config)
    assert recorder.of("after_pipeline_run") == [("p", "succeeded", True)]
    assert recorder.calls[-1][0] == "after_pipeline_run"
    failing, _ = _run(plugins_fresh(), write_config, FAILING)
    assert failing.of("after_pipeline_run") == [("p", "failed", True)]


def test_hook_on_pipeline_error(plugins, write_config) -> None:
    recorder, _ = _run(plugins, write_config)
    assert recorder.of("on_pipeline_error") == []
    failing, _ = _run(plugins_fresh(), write_config, FAILING)
    assert failing.of("on_pipeline_error") == [("p", "step 'tx' (python.call) failed: KeyError: 'missing'")]


def test_hook_before_phase_run(plugins, write_config) -> None:
    recorder, _ = _run(plugins, write_config)
    assert recorder.of("before_phase_run") == ["extract", "transform", "load", "transform_at_load"]


def test_hook_after_phase_run(plugins, write_config) -> None:
    recorder, _ = _run(plugins, write_config)
    assert recorder.of("after_phase_run") == ["extract", "transform", "load", "transform_at_load"]


def test_hook_before_step_run(plugins, write_config) -> None:
    recorder, _ = _run(plugins, write_config)
    assert recorder.of("before_step_run") == [
        ("extract", "src", "python.call", ["callable"]),
        ("transform", "tx", "python.call", ["callable"]),
        ("load", "out", "sqlite.write", ["database", "table"]),
        ("transform_at_load", "sql", "sqlite.execute", ["database", "sql"]),
    ]


def test_hook_after_step_run(plugins, write_config) -> None:
    recorder, _ = _run(plugins, write_config)
    assert recorder.of("after_step_run") == [("src", 2), ("tx", 2), ("out", 2), ("sql", 1)]


def test_hook_on_step_error(plugins, write_config) -> None:
    recorder, result = _run(plugins, write_config, FAILING)
    assert recorder.of("on_step_error") == [("tx", "KeyError")]
    assert result.pipelines["p"].status == "failed"
    assert ("out", 2) not in recorder.of("after_step_run")


RETRIED = """
pipelines:
  p:
    type: ETL
    PIPELINE_RETRY
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "hk:down"}, STEP_RETRY}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}
"""
DOWN = "def down():\n    raise ConnectionError('still down')\n"


def _retried_config(retry: str = "", pipeline_retry: str = "", top: str = "") -> str:
    """RETRIED with ``retry`` on its step, ``pipeline_retry`` on its pipeline and ``top`` above."""
    step = RETRIED.replace("STEP_RETRY", retry or "description: no retry")
    return top + step.replace("PIPELINE_RETRY", pipeline_retry or "description: p")


def _retried(plugins: Plugins, write_config, retry: str, pipeline_retry: str = "") -> tuple[Recorder, RunResult, list[Event]]:
    """Run RETRIED, whose only extract step always fails, with ``retry`` on the step (and
    ``pipeline_retry`` on the pipeline), recording every hook call and event."""
    recorder = Recorder()
    assert plugins.add(recorder, Origin("recorder", "tests", "0"))
    plan = load_plan(write_config(_retried_config(retry, pipeline_retry), **{"hk.py": DOWN}), plugins.registry)
    events: list[Event] = []
    return recorder, Engine(plan, plugins, events.append).run_sync(), events


def test_hook_on_retry_exhausted(plugins, write_config) -> None:
    recorder, result, events = _retried(plugins, write_config, "retry: {attempts: 3, initial: 1ms}")
    assert recorder.of("on_retry_exhausted") == [("StepContext", "src", "src", "still down", 3)]
    assert recorder.of("on_step_error") == [("src", "ConnectionError")]  # fired after it
    names = [name for name, _ in recorder.calls]
    assert names.index("on_retry_exhausted") < names.index("on_step_error")
    (event,) = [e for e in events if e.kind == "retry_exhausted"]
    assert (event.step, event.attempts, event.error) == ("src", 3, "ConnectionError: still down")
    assert result.pipelines["p"].error == "step 'src' (python.call) failed: ConnectionError: still down"


def test_hook_on_retry_exhausted_not_for_an_error_the_policy_does_not_retry(write_config) -> None:
    recorder, result, events = _retried(plugins_fresh(), write_config, "retry: {attempts: 3, initial: 1ms, on: [TimeoutError]}")
    assert not result.ok
    assert recorder.of("on_retry_exhausted") == [] and recorder.of("on_step_error") == [("src", "ConnectionError")]
    assert [e for e in events if e.kind == "retry_exhausted"] == []
    single, _, _ = _retried(plugins_fresh(), write_config, "retry: {attempts: 1}")
    assert single.of("on_retry_exhausted") == []  # one attempt allowed: nothing was retried
    unset, _, _ = _retried(plugins_fresh(), write_config, "")
    assert unset.of("on_retry_exhausted") == []


def test_hook_on_retry_exhausted_for_a_pipeline_policy(plugins, write_config) -> None:
    recorder, _, _ = _retried(plugins, write_config, "", pipeline_retry="retry: {attempts: 2, initial: 1ms}")
    assert recorder.of("on_retry_exhausted") == [
        ("PipelineContext", None, None, "step 'src' (python.call) failed: ConnectionError: still down", 2)
    ]


def test_hook_on_retry_exhausted_that_raises_names_both_errors(write_config) -> None:
    plugins = plugins_fresh()

    class Paging:
        @hookimpl
        def on_retry_exhausted(self, context, step, error, attempts) -> None:
            raise RuntimeError("pager is down")

    plugins.add(Paging(), Origin("paging", "tests", "0"))
    _, result, _ = _retried(plugins, write_config, "retry: {attempts: 2, initial: 1ms}")
    assert result.pipelines["p"].error == (
        "step 'src' (python.call) failed: ConnectionError: still down; "
        "lifecycle hook on_retry_exhausted failed: RuntimeError: pager is down"
    )


def test_hook_failing_before_step_run_fails_the_step(plugins, write_config) -> None:
    class Veto:
        @hookimpl
        def before_step_run(self, context: StepContext, args: dict[str, Any]) -> None:
            if context.phase == "load":
                raise PermissionError("loads are frozen today")

    plugins.add(Veto(), Origin("veto", "tests", "0"))
    _, result = _run(plugins, write_config)
    assert result.pipelines["p"].error == "step 'out' (sqlite.write) failed: PermissionError: loads are frozen today"


# -- registration ---------------------------------------------------------------------------------


class Registrations:
    """Registers one step per phase and an executor, each doing something observable."""

    @hookimpl
    def register_extractors(self, register) -> None:
        register("reg.numbers", lambda ctx, count: [{"n": i} for i in range(count)],
                 schema={"type": "object", "required": ["count"], "properties": {"count": {"type": "integer"}}})

    @hookimpl
    def register_transformers(self, register) -> None:
        register("reg.square", lambda ctx, rows: [{"n": r["n"] ** 2} for r in rows])

    @hookimpl
    def register_loaders(self, register) -> None:
        def collect(ctx, batches):
            SINK.extend(row for batch in batches for row in batch)
            return sum(1 for _ in SINK)

        register("reg.collect", collect)

    @hookimpl
    def register_load_transformers(self, register) -> None:
        def total(ctx):
            SINK.append({"total": sum(r["n"] for r in SINK)})

        register("reg.total", total)

    @hookimpl
    def register_executors(self, register) -> None:
        register("reg.counting", CountingExecutor)


SINK: list[dict[str, int]] = []


class CountingExecutor:
    submitted: list[str] = []

    def __init__(self) -> None:
        from orchestrator.executors.local import LocalExecutor

        self.inner = LocalExecutor()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def submit(self, job):
        CountingExecutor.submitted.append(job.pipeline.name)
        return await self.inner.submit(job)


REGISTERED = """
executor: reg.counting
pipelines:
  p:
    type: ETLT
    phases:
      extract: {steps: [{plugin: reg.numbers, args: {count: 4}}]}
      transform: {steps: [{plugin: reg.square}]}
      load: {steps: [{plugin: reg.collect}]}
      transform_at_load: {steps: [{plugin: reg.total}]}
"""


@pytest.fixture
def registered(plugins: Plugins, write_config):
    SINK.clear()
    CountingExecutor.submitted.clear()
    assert plugins.add(Registrations(), Origin("reg", "tests", "0"))
    plan = load_plan(write_config(REGISTERED), plugins.registry)
    return plugins, Engine(plan, plugins).run_sync()


def test_hook_register_extractors(registered) -> None:
    plugins, result = registered
    assert plugins.registry.get("extract", "reg.numbers").origin.distribution == "tests"
    assert result.pipelines["p"].steps[0].rows == 4


def test_hook_register_extractors_args_schema_is_enforced(plugins: Plugins, write_config) -> None:
    from orchestrator.errors import ConfigError

    plugins.add(Registrations(), Origin("reg", "tests", "0"))
    with pytest.raises(ConfigError, match=r"args\.count: expected an integer"):
        load_plan(write_config(REGISTERED.replace("count: 4", "count: four")), plugins.registry)


def test_hook_register_transformers(registered) -> None:
    _, result = registered
    assert result.ok
    assert [r["n"] for r in SINK[:4]] == [0, 1, 4, 9]


def test_hook_register_loaders(registered) -> None:
    _, result = registered
    load = next(s for s in result.pipelines["p"].steps if s.phase == "load")
    assert (load.step, load.rows) == ("reg.collect", 4)


def test_hook_register_load_transformers(registered) -> None:
    assert SINK[-1] == {"total": 14}


def test_hook_register_executors(registered) -> None:
    plugins, result = registered
    assert result.ok
    assert CountingExecutor.submitted == ["p"]
    assert plugins.registry.names("executor") == ["local", "process", "reg.counting"]


def test_hook_register_notifiers(plugins: Plugins, write_config) -> None:
    from orchestrator.notify import Dispatcher
    from orchestrator.plugins.registry import NOTIFIER

    sent = []

    class Channels:
        @hookimpl
        def register_notifiers(self, register) -> None:
            register("reg.remember", lambda prefix: lambda notification: sent.append(prefix + notification.subject),
                     schema={"type": "object", "required": ["prefix"], "properties": {"prefix": {"type": "string"}}})

    assert plugins.add(Channels(), Origin("channels", "tests", "0"))
    entry = plugins.registry.get(NOTIFIER, "reg.remember")
    assert (entry.origin.distribution, entry.kind) == ("tests", "notifier")
    assert next(info for info in plugins.registry.plugins if info.name == "channels").notifiers == ["reg.remember"]
    text = _retried_config(top="notify: [{channel: reg.remember, prefix: '! '}]")
    plan = load_plan(write_config(text, **{"hk.py": DOWN}), plugins.registry)
    dispatcher = Dispatcher(plan, plugins.registry)
    Engine(plan, plugins, dispatcher.watching(lambda event: None)).run_sync()
    dispatcher.close()
    assert sent == ["! pipeline 'p' failed"]


def test_hook_register_notifiers_options_schema_is_enforced(plugins: Plugins, write_config) -> None:
    from orchestrator.errors import ConfigError

    class Channels:
        @hookimpl
        def register_notifiers(self, register) -> None:
            register("reg.strict", "no_such_module:factory", schema={"type": "object", "required": ["prefix"]})

    plugins.add(Channels(), Origin("channels", "tests", "0"))
    text = _retried_config(top="notify: [{channel: reg.strict}]")
    with pytest.raises(ConfigError, match=r"pipeline.yaml:1: \$\.notify\[0\]: missing required key 'prefix'"):
        load_plan(write_config(text), plugins.registry)


def plugins_fresh() -> Plugins:
    from orchestrator.plugins.discovery import load_plugins

    return load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin"})


def test_registration_with_a_bad_target_is_reported(plugins: Plugins) -> None:
    class Bad:
        @hookimpl
        def register_loaders(self, register) -> None:
            register("bad.load", 42)

    assert not plugins.add(Bad(), Origin("bad", "tests-bad", "1.0"))
    (problem,) = plugins.registry.problems
    assert (problem.plugin, problem.distribution, problem.version) == ("bad", "tests-bad", "1.0")
    assert "must be a callable or a 'module:attr' string" in problem.error
    assert plugins.registry.get("load", "bad.load") is None


def test_lazy_target_that_cannot_be_imported_fails_the_step(plugins: Plugins, write_config) -> None:
    class Lazy:
        @hookimpl
        def register_extractors(self, register) -> None:
            register("lazy.missing", "no_such_module_here:read")

    plugins.add(Lazy(), Origin("lazy", "tests", "0"))
    config = write_config(PIPELINE.replace('{id: src, plugin: python.call, args: {callable: "hk:rows"}}', "{id: src, plugin: lazy.missing}"), **{"hk.py": HK})
    result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
    assert result.pipelines["p"].error.startswith("step 'src' (lazy.missing) failed: extract 'lazy.missing': cannot import 'no_such_module_here:read'")



def test_a_boolean_subschema_in_a_plugin_schema_is_reported_cleanly(plugins: Plugins, write_config) -> None:
    from orchestrator.errors import ConfigError

    class Loose:
        @hookimpl
        def register_extractors(self, register) -> None:
            register("loose.read", lambda ctx, a: [a], schema={"type": "object", "properties": {"a": True}, "required": ["a"]})

    plugins.add(Loose(), Origin("loose", "tests", "0"))
    config = write_config(PIPELINE.replace('{id: src, plugin: python.call, args: {callable: "hk:rows"}}', "{id: src, plugin: loose.read, args: {}}"))
    with pytest.raises(ConfigError, match=r"missing required key 'a'$"):
        load_plan(config, plugins.registry)


def test_hook_after_pipeline_run_that_raises_fails_that_pipeline_only(plugins: Plugins, write_config) -> None:
    class Grumpy:
        @hookimpl
        def after_pipeline_run(self, context, status, elapsed) -> None:
            raise RuntimeError("monitoring is down")

    plugins.add(Grumpy(), Origin("grumpy", "tests", "0"))
    _, result = _run(plugins, write_config)
    outcome = result.pipelines["p"]
    assert (outcome.status, outcome.error) == ("failed", "lifecycle hook after_pipeline_run failed: RuntimeError: monitoring is down")


CONSUMED = """
executor: {name: EXECUTOR}
pipelines:
  p:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "ck:rows"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}
"""
CK = """\
import json
import os
from pathlib import Path


def rows(context):
    Path(__file__).with_name("seen.json").write_text(json.dumps([os.getpid(), dict(context.trace_context)]))
    return [{'n': 0}, {'n': 1}]
"""


def _launch(plugins: Plugins, config: Any, sink: Any = None, warnings: list[str] | None = None) -> RunResult:
    import anyio

    from orchestrator.events import discard
    from orchestrator.launch import Launch, launched

    with launched(load_plan(config, plugins.registry), plugins, Launch(str(config))) as run:
        if warnings is not None:
            run.warn = warnings.append
        return anyio.run(run.start, sink or discard)


@pytest.mark.parametrize("executor", ["local", "process"])
def test_hook_register_event_consumers(plugins: Plugins, write_config, executor: str) -> None:
    """The factory is called once per run, in the run's process, with the run id, the config and
    the run's trace context; its consumer sees every event of the run in order, those of a
    pipeline that ran in a worker process included; the same ``traceparent`` reaches the step's
    context, in the worker too; a factory returning None takes no part."""
    import json
    import os

    from orchestrator.plugins.registry import CONSUMER

    starts: list[Any] = []
    seen: list[Event] = []

    def start(run: Any) -> Any:
        starts.append(run)
        return seen.append

    class Consumers:
        @hookimpl
        def register_event_consumers(self, register) -> None:
            register("reg.seen", start, description="every event")
            register("reg.none", lambda run: None)

    assert plugins.add(Consumers(), Origin("consumers", "tests", "0"))
    assert plugins.registry.names(CONSUMER) == ["reg.none", "reg.seen"]
    assert next(info for info in plugins.registry.plugins if info.name == "consumers").consumers == ["reg.none", "reg.seen"]
    config = write_config(CONSUMED.replace("EXECUTOR", executor), **{"ck.py": CK})
    result = _launch(plugins, config)
    assert result.ok
    [run] = starts
    assert (run.run_id, run.config, sorted(run.plan.pipelines)) == (result.run_id, str(config), ["p"])
    assert [e.kind.value for e in seen if e.kind.value != "log"] == [
        "run_started", "pipeline_started", "phase_started", "step_started", "step_finished", "phase_finished",
        "phase_started", "step_started", "step_finished", "phase_finished", "pipeline_finished", "run_finished",
    ]
    assert {e.run_id for e in seen} == {result.run_id}
    pid, trace_context = json.loads((config.parent / "seen.json").read_text())
    assert trace_context == dict(run.trace_context) and trace_context["traceparent"].startswith("00-")
    assert (pid != os.getpid()) == (executor == "process")


def test_hook_register_event_consumers_one_that_raises_is_dropped_with_a_warning(plugins: Plugins, write_config) -> None:
    """A consumer that raises is dropped for the rest of the run with one warning; a factory
    that raises takes no part; the run, and the other consumers, go on as if nothing happened."""
    kept: list[str] = []

    def fragile(event: Event) -> None:
        if event.kind.value == "step_started":
            raise RuntimeError("consumer broke")

    class Consumers:
        @hookimpl
        def register_event_consumers(self, register) -> None:
            register("reg.broken", lambda run: 1 / 0)
            register("reg.fragile", lambda run: fragile)
            register("reg.kept", lambda run: lambda event: kept.append(event.kind.value))

    assert plugins.add(Consumers(), Origin("consumers", "tests", "0"))
    warnings: list[str] = []
    result = _launch(plugins, write_config(CONSUMED.replace("EXECUTOR", "local"), **{"ck.py": CK}), warnings=warnings)
    assert result.ok
    assert kept[0] == "run_started" and kept[-1] == "run_finished"
    assert len(warnings) == 2
    assert warnings[0].startswith("warning: event consumer 'reg.broken' (tests 0 (plugin 'consumers')) could not start: ")
    assert "ZeroDivisionError" in warnings[0]
    assert warnings[1] == (
        f"warning: event consumer 'reg.fragile' failed on a step_started event and was dropped for the rest of run "
        f"{result.run_id}: RuntimeError: consumer broke"
    )
