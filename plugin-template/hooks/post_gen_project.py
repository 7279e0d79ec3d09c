"""Drop the modules of what was not chosen, so the project holds only code it uses."""

from pathlib import Path

PACKAGE = Path("src") / "{{ cookiecutter.module_name }}"
STEPS = any(
    value.strip().lower() in {"true", "yes", "y", "1"}
    for value in ["{{ cookiecutter.extract }}", "{{ cookiecutter.transform }}", "{{ cookiecutter.load }}", "{{ cookiecutter.transform_at_load }}"]
)
EXECUTOR = "{{ cookiecutter.executor }}".strip().lower() in {"true", "yes", "y", "1"}

if not STEPS:
    (PACKAGE / "steps.py").unlink()
if not EXECUTOR:
    (PACKAGE / "executor.py").unlink()
