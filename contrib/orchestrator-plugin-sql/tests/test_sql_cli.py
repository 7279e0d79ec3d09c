"""The installed ``orchestrator`` command with the plugin installed, as a user runs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from orchestrator.testing.postgresql import PostgresServer
from sql_helpers import Backend, cli

PIPELINE = """
pipelines:
  people:
    type: ETL
    phases:
      extract:
        steps:
          - id: people_csv
            plugin: csv.read
            args: {path: people.csv, types: {id: int}}
      load:
        steps:
          - id: people_table
            plugin: sql.write
            args: {url: "${DB_URL}", table: people, mode: upsert, key: [id]}
"""


def test_sql_cli_lists_the_plugin_and_its_steps() -> None:
    done = cli("plugins")
    assert done.returncode == 0, done.stderr
    listing = done.stdout[done.stdout.index("orchestrator-plugin-sql"):]
    assert listing.startswith("orchestrator-plugin-sql 0.1.0  (plugin sql)")
    for line in ("extract:           sql.query", "load:              sql.write", "transform_at_load: sql.execute"):
        assert line in listing


def test_sql_cli_run_loads_postgresql(pg: Backend, write_files: Callable[..., Path], tmp_path: Path) -> None:
    write_files(PIPELINE, **{"people.csv": "id,name\n1,Ada\n2,Grace\n"})
    done = cli("run", "pipeline.yaml", env=pg.env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert pg.fetch("SELECT id, name FROM people ORDER BY id") == [(1, "Ada"), (2, "Grace")]


def test_sql_cli_run_with_a_wrong_password_fails_in_one_line_without_the_password(
    postgres: PostgresServer, write_files: Callable[..., Path], tmp_path: Path
) -> None:
    wrong = "N0t-The-Pa55word"
    write_files(PIPELINE, **{"people.csv": "id,name\n1,Ada\n"})
    done = cli("run", "pipeline.yaml", env={"DB_URL": postgres.url(password=wrong)}, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert wrong not in output and postgres.password not in output
    assert "Traceback" not in output
    expected = (
        f"step 'people_table' (sql.write) failed: cannot connect to postgresql+psycopg://orchestrator:***@127.0.0.1:{postgres.port}/postgres: "
        f'connection failed: connection to server at "127.0.0.1", port {postgres.port} failed: '
        'FATAL: password authentication failed for user "orchestrator"; check the user name and password in the URL'
    )
    assert expected in output
    mentions = [line for line in output.splitlines() if "password authentication failed" in line]
    assert mentions and all(line.endswith("; check the user name and password in the URL") for line in mentions), output
