"""Engine adapters plug into the core through two registration hooks: ``register_exporters`` (the
subcommands of ``orchestrator export``) and ``register_engines`` (what ``orchestrator plugins``
lists as the engines a plugin runs pipeline files on). A real distribution installed with pip,
loaded through its entry point, run as the installed CLI; and the run ids adapters derive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import orchestrator
from helpers import cli, installed
from orchestrator import hookimpl
from orchestrator.launch import LaunchError
from orchestrator.plugins.discovery import Plugins
from orchestrator.plugins.registry import ENGINE, EXPORTER, Origin
from orchestrator.runstate.layout import RunIdError, check_run_id, run_id_from

CONFIG = """
pipelines:
  orders:
    type: ETL
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: "out/${schedule.interval_start}_${schedule.logical_time}.jsonl"}}]}
  report:
    type: ETL
    depends_on: [orders]
    phases:
      extract: {steps: [{plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/report.jsonl}}]}
"""
STEPS = "def rows():\n    return [{'n': 1}]\n"
TOY = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,toyengine"}


@pytest.fixture(scope="module")
def toy_installed() -> Iterator[None]:
    with installed("orchestrator-plugin-toyengine"):
        yield


def test_hook_register_exporters(toy_installed, write_config, tmp_path: Path) -> None:
    config = write_config(CONFIG, **{"steps.py": STEPS})
    listed = cli("export", "--help", env=TOY)
    assert listed.returncode == 0, listed.stderr
    assert "toy" in listed.stdout and "Write a toy-engine job file." in listed.stdout

    printed = cli("export", "toy", str(config), env=TOY)
    assert printed.returncode == 0, printed.stderr
    job = json.loads(printed.stdout)
    assert [(step["name"], step["after"]) for step in job["steps"]] == [("orders", []), ("report", ["orders"])]

    target = tmp_path / "job.json"
    assert cli("export", "toy", str(config), "-o", str(target), env=TOY).returncode == 0
    assert json.loads(target.read_text()) == job
    for step in job["steps"]:  # the command lines an engine would run, run here
        done = cli(*step["run"][1:], env=TOY)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (config.parent / "out" / "report.jsonl").read_text() == '{"n": 1}\n'


def test_an_unknown_exporter_names_the_installed_ones(toy_installed) -> None:
    done = cli("export", "tyo", "pipeline.yaml", env=TOY)
    assert done.returncode == 2
    assert "no exporter 'tyo'; did you mean 'toy'? (installed: toy)" in done.stderr
    alone = cli("export", "airflow", "pipeline.yaml", env={"ORCHESTRATOR_LOAD_PLUGINS": "builtin"})
    assert alone.returncode == 2 and "installed: none: install an engine adapter" in alone.stderr


def test_hook_register_engines(toy_installed) -> None:
    listed = cli("plugins", "--json", env=TOY)
    assert listed.returncode == 0, listed.stderr
    toy = next(p for p in json.loads(listed.stdout)["plugins"] if p["name"] == "toyengine")
    assert (toy["engines"], toy["exporters"]) == (["toy"], ["toy"])
    table = cli("plugins", env=TOY).stdout
    assert "  engines:           toy" in table and "  exporters:         toy" in table


def test_hook_register_engines_and_exporters_from_a_plugin_object(plugins: Plugins) -> None:
    class Adapter:
        @hookimpl
        def register_engines(self, register) -> None:
            register("made-up", "made_up_engine:factory", description="one made-up task per pipeline")

        @hookimpl
        def register_exporters(self, register) -> None:
            register("made-up", "made_up_engine:command")

    assert plugins.add(Adapter(), Origin("adapter", "tests", "0"))
    engine = plugins.registry.get(ENGINE, "made-up")
    assert (engine.origin.distribution, engine.description, engine.target) == ("tests", "one made-up task per pipeline", "made_up_engine:factory")
    assert plugins.registry.names(EXPORTER) == ["made-up"]
    info = next(i for i in plugins.registry.plugins if i.name == "adapter")
    assert (info.engines, info.exporters) == (["made-up"], ["made-up"])


@pytest.mark.parametrize(
    "parts",
    [
        ("daily", "scheduled__2026-11-03T02:00:00+00:00", "orders"),
        ("daily", "manual__2026-11-03T02:00:00.123456+00:00", "orders"),
        ("a" * 100, "b" * 100, "c"),
        ("_private", "../x", "p"),
    ],
)
def test_run_ids_made_from_an_engines_names_are_valid_and_stable(parts: tuple[str, ...]) -> None:
    made = run_id_from(*parts)
    assert check_run_id(made) == made == run_id_from(*parts)
    assert run_id_from(*parts[:-1], parts[-1] + "x") != made


def test_a_run_id_made_of_valid_names_is_those_names() -> None:
    assert run_id_from("nightly", "orders") == "nightly.orders"
    assert run_id_from("a:b", "c") != run_id_from("a-b", "c"), "a replaced character never makes two ids one"
    with pytest.raises(RunIdError):
        run_id_from("a", "")


def test_a_data_interval_from_another_scheduler_is_the_runs_schedule(write_config) -> None:
    config = write_config(CONFIG, **{"steps.py": STEPS})
    berlin = timezone(timedelta(hours=1))
    start, end = datetime(2026, 11, 2, 2, tzinfo=berlin), datetime(2026, 11, 3, 2, tzinfo=berlin)
    assert orchestrator.run(config, pipelines=["orders"], data_interval=(start, end)).ok
    (written,) = (config.parent / "out").glob("*.jsonl")
    assert written.name == "2026-11-02T02:00:00+01:00_2026-11-03T02:00:00+01:00.jsonl"
    with pytest.raises(LaunchError, match="has no time zone"):
        orchestrator.run(config, data_interval=(datetime(2026, 11, 2), datetime(2026, 11, 3)))
    with pytest.raises(LaunchError, match="before it starts"):
        orchestrator.run(config, data_interval=(end, start))
