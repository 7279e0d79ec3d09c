"""Failures come out as one line naming what failed and what to do: no traceback, no password."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.plugins.discovery import Plugins
from orchestrator.testing.postgresql import PostgresServer, free_port
from sql_helpers import Backend, error_of, run

QUERY = """
pipelines:
  p:
    type: ETL
    phases:
      extract:
        steps: [{plugin: sql.query, args: {url: "${DB_URL}", query: "${QUERY}"}}]
      load:
        steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]
"""


@pytest.fixture
def query_error(plugins: Plugins, write_files: Callable[..., Path]) -> Callable[[str, str], str]:
    """The pipeline error of running ``query`` on the database at ``url``."""

    def query_error(url: str, query: str = "SELECT 1 AS one") -> str:
        error = error_of(run(write_files(QUERY), plugins, {"DB_URL": url, "QUERY": query}))
        assert "\n" not in error and "Traceback" not in error
        return error

    return query_error


def test_sql_bad_sql_names_the_database_and_says_to_fix_the_sql(backend: Backend, query_error: Callable[..., str]) -> None:
    error = query_error(backend.url, "SELEC 1")
    assert error.startswith(f"step 'sql.query' failed: query failed on {backend.shown}: ")
    assert 'syntax error' in error and error.endswith("; fix the SQL")


def test_sql_missing_table_says_to_check_the_name(backend: Backend, query_error: Callable[..., str]) -> None:
    error = query_error(backend.url, "SELECT * FROM no_such_table")
    assert "no_such_table" in error and error.endswith("; check the table name and schema, or create the table first")


def test_sql_unreachable_port_says_to_check_the_server_host_and_port(postgres: PostgresServer, query_error: Callable[..., str]) -> None:
    port = free_port()  # nothing listens there
    error = query_error(postgres.url(port=port))
    assert error.startswith(f"step 'sql.query' failed: cannot connect to postgresql+psycopg://orchestrator:***@127.0.0.1:{port}/postgres: ")
    assert "Connection refused" in error
    assert error.endswith("; check that the server is running and that the host and port in the URL are right")
    assert postgres.password not in error


def test_sql_wrong_password_is_reported_without_the_password(postgres: PostgresServer, query_error: Callable[..., str]) -> None:
    wrong = "Wr0ng-Pa55word-x9"
    error = query_error(postgres.url(password=wrong))
    assert wrong not in error and postgres.password not in error
    assert error.startswith(f"step 'sql.query' failed: cannot connect to postgresql+psycopg://orchestrator:***@127.0.0.1:{postgres.port}/postgres: ")
    assert 'password authentication failed for user "orchestrator"' in error
    assert error.endswith("; check the user name and password in the URL")


def test_sql_missing_database_says_to_create_it(postgres: PostgresServer, query_error: Callable[..., str]) -> None:
    error = query_error(postgres.url(database="no_such_db"))
    assert 'database "no_such_db" does not exist' in error and error.endswith("; create the database, or fix its name in the URL")


def test_sql_missing_driver_names_the_package_to_install(postgres: PostgresServer, query_error: Callable[..., str]) -> None:
    assert importlib.util.find_spec("pymssql") is None, "this test needs a driver that is not installed"
    error = query_error(f"mssql+pymssql://sa:{postgres.password}@127.0.0.1:1/master")
    assert error == (
        "step 'sql.query' failed: the database driver 'pymssql' for mssql+pymssql:// is not installed; "
        "pip install pymssql (into the orchestrator's environment), or name another driver in the URL"
    )


def test_sql_unknown_dialect_and_malformed_url_do_not_echo_the_url(query_error: Callable[..., str]) -> None:
    assert query_error("nosuchdb://u:Secret123@h/db") == (
        "step 'sql.query' failed: unknown database dialect or driver 'nosuchdb' in args.url (nosuchdb://u:***@h/db); "
        "check the URL's scheme, or install the package that provides that dialect"
    )
    error = query_error("Secret123 is not a url")
    assert "Secret123" not in error and error.startswith("step 'sql.query' failed: args.url is not a database URL; expected ")


def test_sql_missing_sqlite_file_is_named_relative_to_the_pipeline(query_error: Callable[..., str], tmp_path: Path) -> None:
    assert query_error("sqlite:///data/none.db") == (
        f"step 'sql.query' failed: SQLite database not found: {tmp_path / 'data' / 'none.db'} "
        "(a relative path in the URL is relative to the pipeline file); check the path, or load the database first"
    )


def test_sql_query_that_returns_no_rows_points_to_sql_execute(lite: Backend, query_error: Callable[..., str]) -> None:
    assert query_error(lite.url, "PRAGMA cache_size = 100") == (
        f"step 'sql.query' failed: the query returned no rows on {lite.url}; "
        "sql.query runs a SELECT (statements that change data belong in sql.execute)"
    )
    # a statement that writes is refused before it runs (the step's SQLite connection only reads)
    assert query_error(lite.url, "CREATE TABLE t (a INTEGER)") == (
        "step 'sql.query' failed: sql.query runs read-only statements and refused CREATE TABLE; "
        "change the database in a transform_at_load step (sqlite.execute, sql.execute)"
    )
    assert lite.tables() == set()


def test_sql_write_and_execute_errors_hide_the_password_too(
    postgres: PostgresServer, pg: Backend, plugins: Plugins, write_files: Callable[..., Path]
) -> None:
    config = """
    pipelines:
      p:
        type: ELT
        phases:
          extract:
            steps: [{plugin: csv.read, args: {path: in.csv}}]
          load:
            steps: [{plugin: sql.write, args: {url: "${DB_URL}", table: t, schema: missing_schema}}]
          transform_at_load:
            steps: [{plugin: sql.execute, args: {url: "${DB_URL}", sql: "SELECT 1"}}]
    """
    error = error_of(run(write_files(config, **{"in.csv": "a\n1\n"}), plugins, pg.env))
    assert postgres.password not in error and ":***@" in error
    assert error.startswith("step 'sql.write' failed: writing table missing_schema.t failed on postgresql+psycopg://")
    assert error.endswith("; create the schema first, or fix args.schema")
