"""Refuse plugin names that would make a broken or confusing package, saying why."""

import keyword
import sys

NAME = "{{ cookiecutter.plugin_name }}"
PLUGIN_ID = "{{ cookiecutter.plugin_id }}"
PHASES = {
    "extract": "{{ cookiecutter.extract }}",
    "transform": "{{ cookiecutter.transform }}",
    "load": "{{ cookiecutter.load }}",
    "transform_at_load": "{{ cookiecutter.transform_at_load }}",
    "executor": "{{ cookiecutter.executor }}",
}


def fail(reason: str) -> None:
    print(f"error: plugin name {NAME!r}: {reason}", file=sys.stderr)
    sys.exit(1)


if not PLUGIN_ID.isidentifier() or keyword.iskeyword(PLUGIN_ID):
    fail(f"{PLUGIN_ID!r} (the name normalised) is not a valid Python identifier; use letters, digits and '_' or '-', starting with a letter")
if PLUGIN_ID.startswith(("orchestrator", "plugin_", "pipeline_orchestrator")):
    fail(f"it is already prefixed; give the bare name (the template adds 'orchestrator-plugin-'), e.g. {PLUGIN_ID.split('_')[-1]!r}")
if not any(value.strip().lower() in {"true", "yes", "y", "1"} for value in PHASES.values()):
    fail("choose at least one of extract, transform, load, transform_at_load or executor")
