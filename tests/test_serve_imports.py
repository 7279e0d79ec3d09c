"""The scheduler's libraries stay out of ``orchestrator run``: only the CLI's scheduling commands
import ``serve/`` (inside the command), importing the CLI and the engine loads no cron library,
time-zone data, watcher or HTTP server, and neither does validating or running a config without a
schedule (one with a schedule loads the schedule model, lazily)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from helpers import loaded_by

CORE = Path(__file__).resolve().parent.parent / "core" / "orchestrator"
HEAVY = ("cronsim", "croniter", "watchfiles", "zoneinfo", "starlette", "uvicorn", "orchestrator.serve", "orchestrator.config.schedule")
#: the commands that use the serve package, each importing it inside the command only
SCHEDULING_COMMANDS = {"cli/serve.py", "cli/schedules.py", "cli/backfill.py"}


def test_only_the_scheduling_commands_import_serve_and_only_inside_the_command() -> None:
    pattern = re.compile(r"^(\s*)(from\s+orchestrator\.serve\b|import\s+orchestrator\.serve\b|from\s+orchestrator\s+import\s+.*\bserve\b)", re.MULTILINE)
    offenders = []
    for path in CORE.rglob("*.py"):
        name = str(path.relative_to(CORE))
        if path.relative_to(CORE).parts[0] == "serve":
            continue
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            if name not in SCHEDULING_COMMANDS or not match.group(1):  # elsewhere, or at module level
                offenders.append(name)
    assert not offenders, f"import orchestrator.serve: {offenders}"


def test_the_run_path_loads_none_of_the_scheduler_libraries() -> None:
    code = (
        "import sys, orchestrator.cli, orchestrator.engine, orchestrator.config\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout


CONFIG = """\
pipelines:
  p:
    type: ETL
{schedule}    phases:
      extract:
        steps:
          - plugin: python.call
            args: {{callable: "rows:one", kwargs: {{at: "${{schedule.logical_time}}"}}}}
      load:
        steps:
          - plugin: csv.write
            args: {{path: out.csv}}
"""



def test_validate_and_run_without_a_schedule_load_no_scheduler_library(tmp_path: Path) -> None:
    (tmp_path / "rows.py").write_text("def one(at):\n    return [{'at': at}]\n")
    config = tmp_path / "plain.yaml"
    config.write_text(CONFIG.format(schedule=""))
    assert loaded_by("validate", config, HEAVY) == []
    assert loaded_by("run", config, HEAVY) == []
    assert (tmp_path / "out.csv").read_text().startswith("at\n20")  # ${schedule.logical_time}: now, for a manual run


def test_a_config_with_a_schedule_loads_the_model_only_then(tmp_path: Path) -> None:
    (tmp_path / "rows.py").write_text("def one(at):\n    return [{'at': at}]\n")
    config = tmp_path / "scheduled.yaml"
    config.write_text(CONFIG.format(schedule="    schedule: {cron: '0 2 * * *', timezone: Europe/Berlin}\n"))
    loaded = loaded_by("validate", config, HEAVY)
    assert "cronsim" in loaded and "orchestrator.config.schedule" in loaded
    assert not [m for m in loaded if m.startswith(("watchfiles", "starlette", "uvicorn", "orchestrator.serve"))]


def test_the_serve_package_itself_is_light() -> None:
    code = f"import sys, orchestrator.serve\nprint(sorted(m for m in sys.modules if m.startswith({HEAVY[:6]!r})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout
