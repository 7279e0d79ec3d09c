"""``sql.execute``: ELT, the transform inside the target after the loads, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.plugins.discovery import Plugins
from sql_helpers import Backend, error_of, run

ELT = """
pipelines:
  p:
    type: ELT
    phases:
      extract:
        steps:
          - plugin: csv.read
            args: {path: orders.csv, types: {order_id: int, amount: float}, batch_size: 2}
      load:
        steps:
          - plugin: sql.write
            args: {url: "${DB_URL}", table: raw_orders, mode: replace}
      transform_at_load:
        steps:
          - plugin: sql.execute
            args:
              url: ${DB_URL}
              sql: |
                -- the daily totals, rebuilt from the raw rows; a ';' in a comment or 'a string;' is not an end
                DROP TABLE IF EXISTS daily;
                CREATE TABLE daily AS
                  SELECT day, SUM(amount) AS total, COUNT(*) AS orders, 'note; kept' AS note
                  FROM raw_orders GROUP BY day;
                DELETE FROM raw_orders WHERE amount < 10;
"""

ORDERS = """\
order_id,day,amount
1,2026-01-01,120.5
2,2026-01-01,8.0
3,2026-01-02,42.0
4,2026-01-02,5.5
5,2026-01-03,99.0
"""


def test_sql_execute_runs_the_transform_inside_postgresql_after_the_load(
    pg: Backend, plugins: Plugins, write_files: Callable[..., Path]
) -> None:
    result = run(write_files(ELT, **{"orders.csv": ORDERS}), plugins, pg.env)

    assert result.ok, result.pipelines["p"].error
    execute = next(s for s in result.pipelines["p"].steps if s.phase == "transform_at_load")
    assert execute.rows == 2 + 3  # rows changed: 3 daily rows created, 2 raw rows deleted
    assert pg.fetch("SELECT day, total, orders, note FROM daily ORDER BY day") == [
        ("2026-01-01", 128.5, 2, "note; kept"), ("2026-01-02", 47.5, 2, "note; kept"), ("2026-01-03", 99.0, 1, "note; kept"),
    ]
    assert pg.fetch("SELECT order_id FROM raw_orders ORDER BY order_id") == [(1,), (3,), (5,)]


def test_sql_execute_runs_on_sqlite_too(lite: Backend, plugins: Plugins, write_files: Callable[..., Path]) -> None:
    result = run(write_files(ELT, **{"orders.csv": ORDERS}), plugins, lite.env)

    assert result.ok, result.pipelines["p"].error
    assert lite.fetch("SELECT day, total FROM daily ORDER BY day") == [("2026-01-01", 128.5), ("2026-01-02", 47.5), ("2026-01-03", 99.0)]
    assert lite.fetch("SELECT COUNT(*) FROM raw_orders") == [(3,)]


EXECUTE_ONLY = """
pipelines:
  p:
    type: ELT
    phases:
      extract:
        steps: [{{plugin: csv.read, args: {{path: orders.csv}}}}]
      load:
        steps: [{{plugin: jsonl.write, args: {{path: out.jsonl}}}}]
      transform_at_load:
        steps:
          - plugin: sql.execute
            args:
              url: ${{DB_URL}}
              sql: |
{sql}
"""


def _execute(sql: str, backend: Backend, plugins: Plugins, write_files: Callable[..., Path]) -> str | None:
    indented = "\n".join(" " * 16 + line for line in sql.strip().splitlines())
    result = run(write_files(EXECUTE_ONLY.format(sql=indented), **{"orders.csv": ORDERS}), plugins, backend.env)
    return result.pipelines["p"].error


def test_sql_execute_is_one_transaction_a_failing_statement_undoes_the_others(
    backend: Backend, plugins: Plugins, write_files: Callable[..., Path]
) -> None:
    backend.run_sql("CREATE TABLE kept (id INTEGER); INSERT INTO kept VALUES (1)")
    error = _execute(
        "CREATE TABLE made (id INTEGER);\nINSERT INTO kept VALUES (2);\nUPDATE kept SET id = 3;\nINSERT INTO nowhere VALUES (1);",
        backend, plugins, write_files,
    )
    assert error is not None
    assert error.startswith("step 'sql.execute' failed: statement 4 of 4 (INSERT INTO nowhere VALUES (1)) failed on ")
    assert error.endswith("; check the table name and schema, or create the table first")
    assert backend.fetch("SELECT id FROM kept") == [(1,)]
    assert backend.tables() == {"kept"}


def test_sql_execute_keeps_an_sqlite_trigger_body_whole(lite: Backend, plugins: Plugins, write_files: Callable[..., Path]) -> None:
    sql = """
CREATE TABLE t (id INTEGER);
CREATE TABLE audit (id INTEGER);
CREATE TRIGGER copy AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (new.id); INSERT INTO audit VALUES (-new.id); END;
INSERT INTO t VALUES (7);
"""
    assert _execute(sql, lite, plugins, write_files) is None
    assert lite.fetch("SELECT id FROM audit ORDER BY id") == [(-7,), (7,)]


def test_sql_execute_keeps_a_postgresql_dollar_quoted_body_whole(pg: Backend, plugins: Plugins, write_files: Callable[..., Path]) -> None:
    sql = """
CREATE FUNCTION twice(n integer) RETURNS integer AS $body$ BEGIN RETURN n * 2; END; $body$ LANGUAGE plpgsql;
CREATE TABLE t AS SELECT twice(21) AS answer, E'it''s; \\' done' AS text;
"""
    assert _execute(sql, pg, plugins, write_files) is None
    assert pg.fetch("SELECT answer, text FROM t") == [(42, "it's; ' done")]


@pytest.mark.parametrize("sql", ["-- nothing to do", ";;"])
def test_sql_execute_refuses_sql_without_a_statement(sql: str, lite: Backend, plugins: Plugins, write_files: Callable[..., Path]) -> None:
    assert _execute(sql, lite, plugins, write_files) == "step 'sql.execute' failed: args.sql holds no statement (only comments or ';')"
