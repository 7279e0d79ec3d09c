"""On SQLite the steps stay inside the pipeline's directories: a ``file:`` URI in ``args.url`` is
checked like a path, SQL that opens a file (``ATTACH``, ``VACUUM INTO``) is refused outside them,
and ``sql.query`` only reads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator_plugin_sql.execute import execute
from orchestrator_plugin_sql.query import query
from orchestrator_plugin_sql.write import write


@pytest.fixture
def base(tmp_path: Path) -> Path:
    base = tmp_path / "project"
    base.mkdir()
    with sqlite3.connect(base / "in.db") as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
    db.close()
    return base


def _ctx(base: Path, plugin: str, allowed: tuple[Path, ...] = ()) -> StepContext:
    return StepContext("run", "p", {}, base, "load", "step", plugin, allowed, load_id="load-1")


def _outside(value: str, base: Path) -> str:
    return f"{value} is outside the pipeline's directory {base}; list the directory under 'allowed_paths' in the config to allow it"


@pytest.mark.parametrize("form", ["sqlite:///file:{path}?uri=true", "sqlite:///file://localhost{path}?mode=rwc&uri=true"])
def test_a_file_uri_outside_the_pipeline_directory_is_refused(base: Path, tmp_path: Path, form: str) -> None:
    target = tmp_path / "elsewhere.db"
    with pytest.raises(StepError) as caught:
        write(_ctx(base, "sql.write"), [[{"a": 1}]], form.format(path=target), "t")
    assert str(caught.value) == _outside(str(target), base)
    assert not target.exists()


def test_a_file_uri_inside_is_resolved_against_the_pipeline_file(base: Path) -> None:
    assert write(_ctx(base, "sql.write"), [[{"a": 1}]], "sqlite:///file:out/x.db?uri=true", "t") == 1
    with sqlite3.connect(base / "out" / "x.db") as db:
        assert db.execute("SELECT a FROM t").fetchall() == [(1,)]
    db.close()
    rows = list(query(_ctx(base, "sql.query"), "sqlite:///file:in.db?mode=ro&uri=true", "SELECT x FROM t"))
    assert rows == [[{"x": 1}]]
    memory = list(query(_ctx(base, "sql.query"), "sqlite:///file:mem?mode=memory&uri=true", "SELECT 2 AS y"))
    assert memory == [[{"y": 2}]]


@pytest.mark.parametrize("sql", ["ATTACH DATABASE '{target}' AS x", "VACUUM INTO '{target}'"])
def test_sql_execute_refuses_sql_that_opens_a_file_outside(base: Path, tmp_path: Path, sql: str) -> None:
    target = tmp_path / "stolen.db"
    with pytest.raises(StepError) as caught:
        execute(_ctx(base, "sql.execute"), "sqlite:///in.db", f"COMMIT; {sql.format(target=target)}; BEGIN")
    assert str(caught.value) == (
        f"sql.execute refused ATTACH or VACUUM INTO of {target}: it is outside the pipeline's directory {base}; "
        "use a file inside it, or list its directory under 'allowed_paths' in the config"
    )
    assert not target.exists()


def test_sql_execute_opens_files_inside_or_allowed(base: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copies" / "copy.db"
    copy.parent.mkdir()
    execute(_ctx(base, "sql.execute", (copy.parent,)), "sqlite:///in.db", f"COMMIT; VACUUM INTO '{copy}'; BEGIN")
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT x FROM t").fetchall() == [(1,)]
    db.close()


@pytest.mark.parametrize(("sql", "what"), [("DELETE FROM t RETURNING x", "DELETE"), ("ATTACH 'x.db' AS x", "ATTACH or VACUUM")])
def test_sql_query_only_reads(base: Path, sql: str, what: str) -> None:
    with pytest.raises(StepError) as caught:
        list(query(_ctx(base, "sql.query"), "sqlite:///in.db", sql))
    assert str(caught.value) == (
        f"sql.query runs read-only statements and refused {what}; change the database in a transform_at_load step "
        "(sqlite.execute, sql.execute)"
    )
    assert list(query(_ctx(base, "sql.query"), "sqlite:///in.db", "SELECT x FROM t")) == [[{"x": 1}]]
