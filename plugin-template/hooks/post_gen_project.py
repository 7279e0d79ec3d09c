"""Drop the modules of what was not chosen, so the project holds only code it uses, and any
bytecode cookiecutter copied from the template (Python writes it there whenever the template's
files are imported or tested in place)."""

import shutil
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
for cache in [p for p in Path(".").rglob("__pycache__") if p.is_dir()]:
    shutil.rmtree(cache)
for stray in Path(".").rglob("*.py[co]"):
    stray.unlink()
