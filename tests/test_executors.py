"""Executors: ``process`` runs pipelines in worker processes that load plugins from the installed
entry points, fire lifecycle hooks there and send their events back; what cannot be shipped is
refused before anything runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import cli, installed
from orchestrator import hookimpl
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.errors import ConfigError
from orchestrator.events import Event, Kind
from orchestrator.plugins.discovery import load_plugins
from orchestrator.plugins.registry import Origin

PLUGINS = "builtin,hookfile"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def hookfile_installed() -> Iterator[None]:
    with installed("orchestrator-plugin-hookfile"):
        yield


@pytest.fixture
def hook_trace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Workers inherit this process's plugin selection and environment."""
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", PLUGINS)
    trace = tmp_path / "hooks.txt"
    monkeypatch.setenv("HOOKFILE_PATH", str(trace))
    return trace


def burning(name: str, seconds: float = 1.0) -> str:
    return f"""
  {name}:
    type: ETL
    phases:
      extract: {{steps: [{{id: rows, plugin: python.call, args: {{callable: "rows:two"}}}}]}}
      transform: {{steps: [{{id: burn, plugin: hookfile.burn, args: {{seconds: {seconds}}}}}]}}
      load: {{steps: [{{id: out, plugin: jsonl.write, args: {{path: out/{name}.jsonl}}}}]}}
"""


ROWS = {"rows.py": "def two(context):\n    context.logger.info('two rows from %s', context.pipeline)\n    return [{'n': 1}, {'n': 2}]\n"}


def test_process_executor_runs_pipelines_in_parallel_worker_processes(write_config, tmp_path, hook_trace) -> None:
    config = write_config(
        "executor: {name: process, workers: 2}\npipelines:" + burning("left") + burning("right"), **ROWS
    )
    plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS})
    events: list[Event] = []
    result = Engine(load_plan(config, plugins.registry), plugins, events.append).run_sync()
    assert result.ok, result.pipelines
    pids = {
        name: {row["pid"] for row in map(json.loads, (tmp_path / f"out/{name}.jsonl").read_text().splitlines())}
        for name in ("left", "right")
    }
    assert len(pids["left"]) == len(pids["right"]) == 1
    assert pids["left"] != pids["right"] and os.getpid() not in pids["left"] | pids["right"]
    # lifecycle hooks fired inside the workers, with the right pipeline and step ids
    traced = {tuple(line.split()) for line in hook_trace.read_text().splitlines()}
    worker_pids = {str(p) for p in pids["left"] | pids["right"]}
    assert {(pid, pipeline, step) for pid, pipeline, step in traced if step == "burn"} == {
        (str(next(iter(pids["left"]))), "left", "burn"),
        (str(next(iter(pids["right"]))), "right", "burn"),
    }
    assert {pid for pid, _, _ in traced} <= worker_pids
    # the workers' events reached this process's event sink
    finished = {(e.pipeline, e.step) for e in events if e.kind == "step_finished"}
    assert {("left", "burn"), ("right", "burn"), ("left", "out"), ("right", "out")} <= finished
    assert [e.kind for e in events][0] == "run_started" and [e.kind for e in events][-1] == "run_finished"
    # typed, as local events are, with the step's attempt; what steps logged came back as events too
    assert all(isinstance(e.kind, Kind) for e in events)
    assert {e.attempt for e in events if e.kind is Kind.STEP_FINISHED} == {1}
    logged = {(e.pipeline, e.step, e.level, e.message) for e in events if e.kind is Kind.LOG}
    assert logged == {(name, "rows", "info", f"two rows from {name}") for name in ("left", "right")}


def test_a_failing_pipeline_in_a_worker_skips_its_dependents_only(write_config, hook_trace) -> None:
    config = write_config(
        "executor: process\npipelines:"
        + burning("fine", 0.01)
        + """
  broken:
    type: ETL
    phases:
      extract: {steps: [{id: rows, plugin: python.call, args: {callable: "rows:missing"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out/broken.jsonl}}]}
  after:
    type: ETL
    depends_on: [broken]
    phases:
      extract: {steps: [{id: rows, plugin: python.call, args: {callable: "rows:two"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out/after.jsonl}}]}
""",
        **ROWS,
    )
    plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS})
    result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
    assert {n: p.status for n, p in result.pipelines.items()} == {"fine": "succeeded", "broken": "failed", "after": "skipped"}
    assert result.pipelines["broken"].error == "step 'rows' (python.call) failed: module 'rows' has no attribute 'missing'"


def test_steps_that_cannot_be_shipped_are_refused_before_anything_runs(write_config, tmp_path, hook_trace) -> None:
    config = write_config(
        """
        executor: process
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{id: rows, plugin: python.call, args: {callable: "rows:two"}}]}
              transform:
                steps:
                  - {id: lam, plugin: hookfile.unpicklable}
                  - {id: here, plugin: local.only}
              load: {steps: [{id: out, plugin: jsonl.write, args: {path: out/p.jsonl}}]}
        """,
        **ROWS,
    )

    class LocalOnly:
        @hookimpl
        def register_transformers(self, register) -> None:
            register("local.only", "json:loads")

    plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS})
    plugins.add(LocalOnly(), Origin("local-only", "tests", "0"))
    with pytest.raises(ConfigError) as refused:
        Engine(load_plan(config, plugins.registry), plugins).run_sync()
    messages = [p.message for p in refused.value.problems]
    assert messages == [
        "pipeline 'p', step 'lam' (hookfile.unpicklable): the step's function cannot be pickled "
        "(a lambda or a local function?); use the local executor for it",
        "pipeline 'p', step 'here' (local.only): its plugin 'local-only' was registered in this process only; "
        "workers load plugins from installed entry points; use the local executor for it",
    ]
    assert not (tmp_path / "out").exists()


def test_cli_runs_the_quickstart_on_the_process_executor(tmp_path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", project, ignore=shutil.ignore_patterns("out", "__pycache__"))
    result = cli("run", str(project / "pipeline.yaml"), "--executor", "process", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert sum(1 for e in events if e["kind"] == "step_finished") == 10
    assert events[-1]["status"] == "succeeded"


def test_cli_refuses_an_unshippable_plan_with_exit_2(write_config) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{id: rows, plugin: python.call, args: {callable: "rows:two"}}]}
              transform: {steps: [{id: lam, plugin: hookfile.unpicklable}]}
              load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **ROWS,
    )
    result = cli("run", str(config), "--executor", "process", env={"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS})
    assert result.returncode == 2
    assert "step 'lam' (hookfile.unpicklable): the step's function cannot be pickled" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_executors_page_example_passes(tmp_path: Path) -> None:
    """docs/executors.md: the executor it shows, registered and run by its own test module."""
    from test_docs import DOCS, blocks

    (module,) = [b for b in blocks(DOCS / "executors.md") if b.title and b.title.startswith("tests/")]
    target = tmp_path / module.title
    target.parent.mkdir(parents=True)
    target.write_text(module.body)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_a_cpu_bound_sync_step_does_not_stall_another_pipeline_on_local(write_config) -> None:
    config = write_config(
        "pipelines:"
        + burning("cpu", 1.0)
        + """
  io:
    type: ETL
    phases:
      extract: {steps: [{id: wait, plugin: python.call, args: {callable: "waits:ten"}}]}
      load: {steps: [{id: out, plugin: python.call, args: {callable: "waits:done"}}]}
""",
        **ROWS,
        **{"waits.py": "import time, anyio\nDONE = {}\nasync def ten():\n    for _ in range(10):\n        await anyio.sleep(0.01)\n"
                       "    return [1]\ndef done(batch):\n    DONE['io'] = time.process_time()\n    return 1\n"},
    )
    plugins = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS})
    events: list[Event] = []
    result = Engine(load_plan(config, plugins.registry), plugins, events.append).run_sync()
    assert result.ok
    order = [(e.pipeline, e.step) for e in events if e.kind == "step_finished"]
    # the I/O pipeline finished while the CPU-bound transform was still burning in its thread
    assert order.index(("io", "out")) < order.index(("cpu", "burn"))


def test_executor_flag_keeps_the_configs_options_for_that_executor(write_config, tmp_path) -> None:
    config = write_config(
        "executor: {name: process, workers: 1}\npipelines:" + burning("a", 0.01) + burning("b", 0.01), **ROWS
    )
    result = cli("run", str(config), "--executor", "process", env={"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS})
    assert result.returncode == 0, result.stdout + result.stderr
    pids = {json.loads(line)["pid"] for name in ("a", "b") for line in (tmp_path / f"out/{name}.jsonl").read_text().splitlines()}
    assert len(pids) == 1  # workers: 1 from the config, not one per CPU


def test_workers_die_with_a_killed_run(write_config, tmp_path: Path) -> None:
    """SIGKILL of the run's process must not leave a worker going on with a pipeline nobody
    records (it would load rows unrecorded and hold files a resume needs)."""
    import signal
    import time

    import psutil

    config = write_config(
        """
        pipelines:
          slow:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "steps:wait"}}]}
              load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
        """,
        **{"steps.py": "import pathlib, time\n\ndef wait():\n"
                       "    pathlib.Path('started').write_text('yes')\n    time.sleep(120)\n    return [{'n': 1}]\n"},
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", str(config), "--executor", "process"],
        cwd=tmp_path, env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists():  # the step is running in a worker
            assert run.poll() is None, "the run ended before its step started"
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.1)
        workers = psutil.Process(run.pid).children(recursive=True)
        assert workers, "no worker process"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=15)
        assert alive == [], f"workers outlived the run: {[p.pid for p in alive]}"
    finally:
        for process in [run, *workers]:
            try:
                process.kill()
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
