"""The read side of the JSON API against a real server on 127.0.0.1 (httpx), over runs that real
``orchestrator run`` processes recorded: files, pipelines with their latest runs, runs paged with a
cursor, one run with its DAG, its log lines, dead letters, config and the diff of two configs,
plugins; unknown ids are 404s, bad query values 400s, all as ``{"error": ...}``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from web_api_helpers import CONFIG, SECRET, project, run, serving


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reads")
    config = project(folder)
    run(config)
    run(config, "--param", "count=5")
    config.write_text(CONFIG.replace("count: 3", "count: 4"))
    run(config, "--pipeline", "orders")
    return config


def test_files_and_pipelines_with_their_schedule_and_latest_runs(recorded: Path) -> None:
    with serving(recorded.parent) as live:
        files: Any = live.get("/api/files")
        assert files == {"files": [{"id": "pipeline.yaml", "name": "pipeline.yaml", "pipelines": ["orders", "report"],
                                    "schedules": 1, "triggers": 0}]}
        found: Any = live.get("/api/pipelines")
        orders, report = found["pipelines"]
        assert (orders["file"], orders["name"], orders["type"], orders["depends_on"], orders["schedule"]) == ("pipeline.yaml", "orders", "ETL", [], None)
        assert [cell["status"] for cell in orders["runs"]] == ["succeeded"] * 3
        assert set(orders["runs"][0]) == {"run_id", "status", "started", "elapsed"}
        assert report["depends_on"] == ["orders"] and len(report["runs"]) == 2
        assert report["schedule"]["text"] == "cron 0 0 1 1 *" and report["schedule"]["paused"] is False
        assert report["schedule"]["next"].endswith("-01-01T00:00:00+00:00")
        assert [p["name"] for p in live.get("/api/pipelines?q=REP")["pipelines"]] == ["report"]  # type: ignore[index]
        assert orders["params"] == report["params"] == [{"name": "count", "default": 4, "type": "integer", "secret": False}]  # the file as it is now


def test_pipelines_list_their_files_params_with_defaults_and_secrets_hidden(tmp_path: Path) -> None:
    declared = 'params: {count: 3, regions: [eu, us], full: false, rate: 0.5, api_token: "${API_TOKEN}", db_password: plain-default-pw, note: null}'
    project(tmp_path, CONFIG.replace("params: {count: 3}", declared))
    with serving(tmp_path) as live:
        answer = live.client.get("/api/pipelines")
        params = answer.json()["pipelines"][0]["params"]
        assert [(p["name"], p["default"], p["type"], p["secret"]) for p in params] == [
            ("count", 3, "integer", False), ("regions", ["eu", "us"], "list", False), ("full", False, "boolean", False),
            ("rate", 0.5, "number", False), ("api_token", "***", "string", True), ("db_password", "***", "string", True),
            ("note", None, None, False)]
        assert SECRET not in answer.text and "plain-default-pw" not in answer.text
        schema = live.get("/api/openapi.json")["components"]["schemas"]["Pipelines"]  # type: ignore[index]
        assert "params" in schema["properties"]["pipelines"]["items"]["required"]


def test_runs_are_paged_newest_first_with_a_cursor(recorded: Path) -> None:
    with serving(recorded.parent) as live:
        everything: Any = live.get("/api/runs")
        assert len(everything["runs"]) == 3 and everything["next"] is None
        newest = everything["runs"][0]
        assert newest["file"] == "pipeline.yaml" and newest["pipelines"] == 1 and newest["params"] == {"count": 4}
        assert "config_text" not in newest and {"config_hash", "host", "pid", "status", "started"} <= set(newest)
        seen, after = [], ""
        while True:
            page: Any = live.get(f"/api/runs?limit=1{after}")
            seen += [r["run_id"] for r in page["runs"]]
            if page["next"] is None:
                break
            after = f"&before={page['next']}"
        assert seen == [r["run_id"] for r in everything["runs"]]
        assert [r["run_id"] for r in live.get("/api/runs?pipeline=report")["runs"]] == seen[1:]  # type: ignore[index]
        assert live.get("/api/runs?status=failed") == {"runs": [], "next": None}
        assert len(live.get("/api/runs?file=pipeline.yaml")["runs"]) == 3  # type: ignore[index]


def test_one_run_with_its_steps_and_dag_logs_dead_letters_config_and_diff(recorded: Path) -> None:
    with serving(recorded.parent) as live:
        oldest, middle, newest = reversed(live.get("/api/runs")["runs"])  # type: ignore[index]
        shown: Any = live.get(f"/api/runs/{middle['run_id']}")
        assert shown["run"]["status"] == "succeeded" and shown["run"]["live"] is False and shown["run"]["params"] == {"count": 5}
        assert [p["pipeline"] for p in shown["pipelines"]] == ["orders", "report"]
        steps = {(s["pipeline"], s["step"]): s for s in shown["steps"]}
        assert steps[("orders", "src")]["rows"] == 5 and steps[("orders", "parse")]["rows_in"] == 5
        assert steps[("orders", "parse")]["rows"] == 4 and steps[("orders", "parse")]["rejected"] == 1
        assert all(s["started"] <= s["finished"] for s in shown["steps"])
        assert {p["phase"] for p in shown["phases"]} == {"extract", "transform", "load"}
        assert shown["dag"] == {"nodes": [{"id": "orders", "status": "succeeded"}, {"id": "report", "status": "succeeded"}],
                                "edges": [{"from": "orders", "to": "report"}]}
        assert [p["step_count"] for p in shown["pipelines"]] == [3, 2]
        assert not any("run_id" in row for key in ("pipelines", "phases", "steps") for row in shown[key])  # said once, in run
        # a big run's page reads the run without its steps, then the pipelines it shows one by one
        light: Any = live.get(f"/api/runs/{middle['run_id']}?steps=0")
        assert set(light) == {"run", "pipelines", "dag"} and light["pipelines"] == shown["pipelines"] and light["dag"] == shown["dag"]
        one: Any = live.get(f"/api/runs/{middle['run_id']}/pipelines/orders")
        assert one["pipeline"] == shown["pipelines"][0]
        assert one["steps"] == [{k: v for k, v in s.items() if k != "pipeline"} for s in shown["steps"] if s["pipeline"] == "orders"]
        assert one["phases"] == [{k: v for k, v in p.items() if k != "pipeline"} for p in shown["phases"] if p["pipeline"] == "orders"]
        missing: Any = live.get(f"/api/runs/{middle['run_id']}/pipelines/nope", 404)
        assert "no pipeline 'nope' in pipeline.yaml" in missing["error"]

        logs: Any = live.get(f"/api/runs/{middle['run_id']}/logs?pipeline=orders&step=src")
        assert [line["message"] for line in logs["lines"]] == ["extracting 5 rows with ***"]
        assert logs["next"] == logs["lines"][-1]["seq"]
        assert live.get(f"/api/runs/{middle['run_id']}/logs?after={logs['next']}&pipeline=orders&step=src")["lines"] == []  # type: ignore[index]

        letters: Any = live.get(f"/api/runs/{middle['run_id']}/dead-letters")
        assert letters["counts"] == [{"pipeline": "orders", "phase": "transform", "step": "parse", "rows": 1}]
        (row,) = letters["rows"]
        assert row["row"] == {"id": 1, "amount": 10} and "row 1 is bad" in row["error"] and letters["next"] is None

        config: Any = live.get(f"/api/runs/{oldest['run_id']}/config")
        assert config["text"] == CONFIG and config["file"] == "pipeline.yaml" and len(config["config_hash"]) == 64
        same: Any = live.get(f"/api/runs/{oldest['run_id']}/diff/{middle['run_id']}")
        assert same["same"] is True and same["diff"] == ""
        changed: Any = live.get(f"/api/runs/{middle['run_id']}/diff/{newest['run_id']}")
        assert changed["same"] is False
        assert "-params: {count: 3}\n+params: {count: 4}\n" in changed["diff"]


def test_plugins_are_listed_as_the_cli_lists_them(recorded: Path) -> None:
    with serving(recorded.parent) as live:
        listed: Any = live.get("/api/plugins")
        (builtin,) = listed["plugins"]
        assert builtin["name"] == "builtin" and "python.call" in builtin["steps"]["extract"] and listed["failed"] == []


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/api/runs/20990101T000000-abcdef", 404, "no run '20990101T000000-abcdef'"),
    ("/api/runs/..%2F..%2Fetc", 404, "no such route"),
    ("/api/runs/%3Cb%3E'", 404, "no run \"<b>'\" of a served file"),
    ("/api/runs?file=..%2F..%2Fetc%2Fpasswd", 404, "no served file '../../etc/passwd'"),
    ("/api/runs?file=%2Fetc%2Fpasswd", 404, "no served file"),
    ("/api/runs?limit=0", 400, "?limit='0': expected a whole number between 1 and 500"),
    ("/api/runs?before=nonsense", 400, "is not a cursor"),
    ("/api/runs?status=maybe", 400, "expected one of running, succeeded"),
    ("/api/nothing-here", 404, "no such route: /api/nothing-here"),
])
def test_bad_requests_are_json_errors_a_person_can_act_on(recorded: Path, path: str, status: int, says: str) -> None:
    with serving(recorded.parent) as live:
        error: Any = live.get(path, status)
        assert set(error) == {"error"} and says in error["error"]
        assert SECRET not in str(error)
