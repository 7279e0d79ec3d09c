"""Start-up figures: ``orchestrator --version`` beside ``python -c pass`` (2), and ``orchestrator run``
with the contrib plugins and 50 generated plugin distributions installed, beside the core alone (9).
Both run whole processes, as a user starts them.
"""

from __future__ import annotations

from bench.harness import Bench
from bench.measure import Command, flatten, run_processes
from bench.plugin_envs import all_plugins_env, prepare
from bench.report import Row, Target


def version(bench: Bench) -> list[Row]:
    command = Command((bench.orchestrator, "--version"), env=bench.env)
    samples = run_processes({"orchestrator --version": command, "python -c pass": bench.bare_python()}, bench.reps(15, 5))
    ours, bare = samples["orchestrator --version"], samples["python -c pass"]
    note = "`orchestrator --version` (console script: imports click and the CLI module only); baseline `python -c pass`."
    return [
        Row(
            "2",
            "--version: time",
            "s",
            ours.median_seconds,
            bare.median_seconds,
            "python -c pass",
            Target(0.12),
            note,
            flatten(samples),
        ),
    ]


def many_plugins(bench: Bench) -> list[Row]:
    """Start-up with the contrib plugins and 50 generated plugin distributions installed, against
    the same command in an environment with only the core. No allow-list: discovering and
    importing every installed plugin is what is measured."""
    env = all_plugins_env(bench.env)
    envs = prepare(bench.workspace.root / "plugin-envs", env)
    config = bench.workspace.cold_start_config()
    loaded, bare = f"{envs.plugin_count} plugins", "core only"
    commands: dict[str, Command] = {}
    for label, venv in ((loaded, envs.loaded), (bare, envs.bare)):
        commands[label] = bench.run(config, script=venv.orchestrator, env=env)
        commands[f"{label}, cache off"] = bench.run(config, cache=False, script=venv.orchestrator, env=env)
    samples = run_processes(commands, bench.reps(15, 5))
    contrib = ", ".join(envs.contrib) or "none"
    if len(envs.contrib) < 3:
        contrib += f" (only {len(envs.contrib)} contrib distribution(s) existed, so fewer than 53 plugins)"
    created = (
        f"created in this run in {envs.created_seconds:.0f} s (not timed; first run, or after a pyproject.toml or "
        "the dummy generator changed)"
        if envs.created_seconds
        else "reused from an earlier run"
    )
    note = (
        f"`orchestrator run` of the cold-start config (python.call extract -> load), all plugins allowed (no "
        f"ORCHESTRATOR_LOAD_PLUGINS), in two virtualenvs under the work dir: '{loaded}' = core + contrib ({contrib}, "
        f"editable) + {len(envs.dummies)} generated wheels orchestrator-plugin-dummy-NN (each an entry-point module "
        f"registering an extract, a transform and a load with args schemas by 'module:function'); baseline "
        f"'{bare}' = the core alone (editable). Target: ours - baseline <= 0.05 s. Environments {created}."
    )
    title, limit = f"{loaded} installed", Target(0.05, "difference")
    ours, base = samples[loaded], samples[bare]
    ours_off, base_off = samples[f"{loaded}, cache off"], samples[f"{bare}, cache off"]
    return [
        Row("9", f"{title}: start-up", "s", ours.median_seconds, base.median_seconds, bare, limit, note, flatten(samples)),
        Row("9", f"{title}: start-up, cache off", "s", ours_off.median_seconds, base_off.median_seconds, f"{bare}, cache off", limit),
        Row("9", f"{title}: peak RSS", "MiB", ours.median_rss_mib, base.median_rss_mib, bare),
        Row("9", f"{title}: peak RSS, cache off", "MiB", ours_off.median_rss_mib, base_off.median_rss_mib, f"{bare}, cache off"),
    ]
