"""The plugin as the orchestrator sees it: found through its entry point, cheap to import, and its
argument schemas checked before anything runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.config.plan import load_plan
from orchestrator.errors import ConfigError
from orchestrator.plugins.discovery import Plugins


def test_sql_plugin_module_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys, orchestrator_plugin_sql.plugin\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'psycopg', 'sqlite3'))\n"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_sql_steps_are_registered_in_their_phases_by_the_sql_entry_point(plugins: Plugins) -> None:
    registry = plugins.registry
    assert registry.names("extract", plugin="sql") == ["sql.query"]
    assert registry.names("load", plugin="sql") == ["sql.write"]
    assert registry.names("transform_at_load", plugin="sql") == ["sql.execute"]
    info = next(p for p in registry.plugins if p.name == "sql")
    assert info.distribution == "orchestrator-plugin-sql"


LOAD_ONLY = """
pipelines:
  p:
    type: ETL
    phases:
      extract:
        steps: [{{plugin: csv.read, args: {{path: in.csv}}}}]
      load:
        steps: [{{plugin: sql.write, args: {args}}}]
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("{url: 'sqlite:///x.db', table: t, mode: upsert}", "missing required key 'key'"),
        ("{url: 'sqlite:///x.db', table: t, mode: merge}", "merge"),
        ("{url: 'sqlite:///x.db', table: t, mode: upsert, key: []}", "key"),
        ("{url: 'sqlite:///x.db', table: t, batch_size: 0}", "batch_size"),
        ("{url: 'sqlite:///x.db', tabel: t}", "did you mean 'table'?"),
    ],
)
def test_sql_write_args_are_checked_before_running(
    args: str, expected: str, plugins: Plugins, write_files: Callable[..., Path]
) -> None:
    path = write_files(LOAD_ONLY.format(args=args), **{"in.csv": "a\n1\n"})
    with pytest.raises(ConfigError) as caught:
        load_plan(path, plugins.registry)
    assert expected in str(caught.value)


def test_sql_write_upsert_with_a_key_is_valid(plugins: Plugins, write_files: Callable[..., Path]) -> None:
    path = write_files(LOAD_ONLY.format(args="{url: 'sqlite:///x.db', table: t, mode: upsert, key: [a]}"), **{"in.csv": "a\n1\n"})
    plan = load_plan(path, plugins.registry)
    assert plan.pipelines["p"].phases["load"][0].args["key"] == ["a"]
