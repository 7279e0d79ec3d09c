"""Live runs and the actions, against a real server on 127.0.0.1: a run started with params
through the API, followed as server-sent events as it runs (in-process); a bad param refused with
the CLI's message; a failed run resumed; a running run cancelled (recorded as cancelled, then
resumed); dead letters replayed; a schedule paused across a restart; a run started by
``orchestrator run`` elsewhere followed by polling its history; and a follower that falls behind
gets a ``resync`` message instead of slowing the run."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import BIN, cli
from web_api_helpers import CONFIG, GATED, SECRET, Stream, project, run, serving

from orchestrator.events import Event, Kind
from orchestrator.serve.fanout import BACKLOG, QUEUE_SIZE, Hub

ORCHESTRATOR = str(BIN / "orchestrator")
HEADERS = {"X-Orchestrator-Request": "1"}


def _post(live: Any, path: str, body: object = None, status: int = 202) -> Any:
    response = live.client.post(path, json=body, headers=HEADERS)
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def _status(folder: Path, run_id: str) -> str:
    with sqlite3.connect(folder / ".orchestrator" / "state.db") as db:
        return str(db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0])


def test_a_run_started_through_the_api_is_followed_live_to_its_end(tmp_path: Path) -> None:
    config = project(tmp_path, GATED)
    gate = tmp_path / "gate"
    with serving(config) as live:
        everything = Stream(f"{live.url}/api/events")
        started = _post(live, "/api/pipelines/pipeline.yaml/after/runs", {"params": {"gate": str(gate)}})
        run_id = started["run_id"]
        events = Stream(f"{live.url}/api/runs/{run_id}/events")
        assert events.status == 200 and events.content_type.startswith("text/event-stream")
        assert events.messages[:1] == [{"kind": "hello", "run_id": run_id, "live": True}] or events.wait(lambda m: m["kind"] == "hello")
        shown = live.get(f"/api/runs/{run_id}")
        assert shown["run"]["live"] is True  # type: ignore[index]
        events.wait(lambda m: m["kind"] == "step_started" and m["step"] == "wait")
        dag = live.get(f"/api/runs/{run_id}")["dag"]  # type: ignore[index]
        assert {n["id"]: n["status"] for n in dag["nodes"]} == {"gated": "running", "after": "pending"}
        assert dag["edges"] == [{"from": "gated", "to": "after"}]
        gate.touch()
        end = events.wait(lambda m: m["kind"] == "end")
        assert end == {"kind": "end", "run_id": run_id, "status": "succeeded"}
        kinds = events.kinds()
        for kind in ("pipeline_started", "phase_started", "step_started", "log", "step_finished", "pipeline_finished", "run_finished"):
            assert kind in kinds, kinds
        assert kinds.index("run_finished") < kinds.index("end") == len(kinds) - 1
        assert all(m["run_id"] == run_id for m in events.messages)
        assert everything.wait(lambda m: m["kind"] == "end" and m["run_id"] == run_id)["status"] == "succeeded"
        assert live.get(f"/api/runs/{run_id}")["run"]["status"] == "succeeded"  # type: ignore[index]
        assert (tmp_path / "out" / "after.jsonl").exists()
        # a run that ended: its stream says so at once, without replaying the run
        again = Stream(f"{live.url}/api/runs/{run_id}/events")
        assert again.wait(lambda m: m["kind"] == "end")["status"] == "succeeded"
        assert again.closed.wait(30) and again.messages == [
            {"kind": "hello", "run_id": run_id, "live": False}, {"kind": "end", "run_id": run_id, "status": "succeeded"}]


def test_bad_params_are_refused_with_the_message_the_cli_gives(tmp_path: Path) -> None:
    config = project(tmp_path, GATED)
    by_cli = cli("run", str(config), "--param", "nope=1", cwd=tmp_path)
    assert by_cli.returncode == 2
    with serving(config) as live:
        refused = _post(live, "/api/pipelines/pipeline.yaml/gated/runs", {"params": {"nope": "1"}}, 400)
        assert refused["error"] + "\n" == by_cli.stderr
        assert "unknown parameter 'nope'" in refused["error"]
        assert _post(live, "/api/pipelines/pipeline.yaml/gated/runs", {"params": ["x"]}, 400)["error"].startswith('"params" is an object')
        assert _post(live, "/api/pipelines/pipeline.yaml/gated/runs", {"param": {}}, 400)["error"].startswith("the body is a JSON object")
        assert "no pipeline 'nothing'" in _post(live, "/api/pipelines/pipeline.yaml/nothing/runs", {}, 404)["error"]
        assert "no served file" in _post(live, "/api/pipelines/..~..~etc~passwd/gated/runs", {}, 404)["error"]
        response = live.client.post("/api/pipelines/pipeline.yaml/gated/runs", content=b"{not json", headers=HEADERS)
        assert response.status_code == 400 and "the body is not JSON" in response.json()["error"]
        assert live.get("/api/runs") == {"runs": [], "next": None}


def test_a_failed_run_is_resumed_and_succeeds(tmp_path: Path) -> None:
    config = project(tmp_path, GATED)
    broken = tmp_path / "broken"
    broken.touch()
    with serving(config) as live:
        run_id = _post(live, "/api/pipelines/pipeline.yaml/after/runs", {"params": {"broken": str(broken)}})["run_id"]
        events = Stream(f"{live.url}/api/runs/{run_id}/events")
        assert events.wait(lambda m: m["kind"] == "end")["status"] == "failed"
        failed = live.get(f"/api/runs/{run_id}")
        errors = [s["error"] for s in failed["steps"] if s["error"]]  # type: ignore[index]
        assert any("broken on purpose" in error for error in errors), errors
        assert {p["pipeline"]: p["status"] for p in failed["pipelines"]} == {"gated": "failed", "after": "skipped"}  # type: ignore[index]
        broken.unlink()
        assert _post(live, f"/api/runs/{run_id}/resume") == {"run_id": run_id}
        events = Stream(f"{live.url}/api/runs/{run_id}/events")
        assert events.wait(lambda m: m["kind"] == "end")["status"] == "succeeded"
        assert _status(tmp_path, run_id) == "succeeded"
        said = _post(live, f"/api/runs/{run_id}/resume", None, 409)["error"]
        assert "that run succeeded, there is nothing to resume" in said


def test_a_running_run_is_cancelled_recorded_as_cancelled_and_resumable(tmp_path: Path) -> None:
    config = project(tmp_path, GATED)
    gate = tmp_path / "gate"
    with serving(config) as live:
        run_id = _post(live, "/api/pipelines/pipeline.yaml/gated/runs", {"params": {"gate": str(gate)}})["run_id"]
        # its page asks for its parts at once, recorded yet or not: none so far, not a 404
        assert live.get(f"/api/runs/{run_id}/dead-letters") == {"counts": [], "rows": [], "next": None}
        assert "lines" in live.get(f"/api/runs/{run_id}/logs")  # type: ignore[operator]
        events = Stream(f"{live.url}/api/runs/{run_id}/events")
        events.wait(lambda m: m["kind"] == "step_started")
        assert _post(live, f"/api/runs/{run_id}/cancel") == {"run_id": run_id, "status": "cancelling"}
        assert events.wait(lambda m: m["kind"] == "end")["status"] == "cancelled"
        assert live.get(f"/api/runs/{run_id}")["run"]["status"] == "cancelled"  # type: ignore[index]
        assert "is not running (it cancelled)" in _post(live, f"/api/runs/{run_id}/cancel", None, 409)["error"]
        gate.touch()
        _post(live, f"/api/runs/{run_id}/resume")
        assert Stream(f"{live.url}/api/runs/{run_id}/events").wait(lambda m: m["kind"] == "end")["status"] == "succeeded"


def test_dead_letters_are_replayed_in_a_new_run(tmp_path: Path) -> None:
    config = project(tmp_path)
    run(config, "--pipeline", "orders")
    with serving(config) as live:
        (source,) = live.get("/api/runs")["runs"]  # type: ignore[index]
        replayed = _post(live, f"/api/runs/{source['run_id']}/replay-dead-letters")["run_id"]
        assert replayed != source["run_id"]
        assert Stream(f"{live.url}/api/runs/{replayed}/events").wait(lambda m: m["kind"] == "end")["status"] == "succeeded"
        letters = live.get(f"/api/runs/{replayed}/dead-letters")
        assert [row["row"] for row in letters["rows"]] == [{"id": 1, "amount": 10}]  # type: ignore[index]
        said = _post(live, f"/api/runs/{replayed}/replay-dead-letters", None, 202)
        assert said["run_id"]


def test_a_paused_schedule_stays_paused_across_a_restart(tmp_path: Path) -> None:
    config = project(tmp_path)
    with serving(config) as live:
        assert _post(live, "/api/schedules/pipeline.yaml/report/pause", None, 200) == {"file": "pipeline.yaml", "pipeline": "report", "paused": True}
        said = _post(live, "/api/schedules/pipeline.yaml/orders/pause", None, 409)["error"]
        assert said == "pipeline 'orders' of pipeline.yaml has no schedule: there is nothing to pause"
    with serving(config) as live:
        report = [p for p in live.get("/api/pipelines")["pipelines"] if p["name"] == "report"][0]  # type: ignore[index]
        assert report["schedule"]["paused"] is True
        assert [s["paused"] for s in live.get("/api/schedules")] == [True]  # type: ignore[union-attr]
        _post(live, "/api/schedules/pipeline.yaml/report/unpause", None, 200)
        report = [p for p in live.get("/api/pipelines")["pipelines"] if p["name"] == "report"][0]  # type: ignore[index]
        assert report["schedule"]["paused"] is False


def test_a_run_started_elsewhere_is_followed_by_polling_its_history(tmp_path: Path) -> None:
    config = project(tmp_path, GATED)
    gate = tmp_path / "gate"
    with serving(config) as live:
        everything = Stream(f"{live.url}/api/events")
        elsewhere = subprocess.Popen([ORCHESTRATOR, "run", str(config), "--param", f"gate={gate}", "--pipeline", "gated"],
                                     cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={"API_TOKEN": SECRET, "PATH": str(BIN)})
        try:
            started = everything.wait(lambda m: m["kind"] == "run_started")
            run_id = started["run_id"]
            assert started["polled"] is True
            events = Stream(f"{live.url}/api/runs/{run_id}/events")
            assert events.wait(lambda m: m["kind"] == "hello")["live"] is False
            events.wait(lambda m: m["kind"] == "step_started" and m["step"] == "wait")
            cancel = _post(live, f"/api/runs/{run_id}/cancel", None, 409)["error"]
            assert "was not started by this server" in cancel
            gate.touch()
            assert events.wait(lambda m: m["kind"] == "end")["status"] == "succeeded"
            assert "step_finished" in events.kinds() and "log" in events.kinds()
            assert all(m.get("polled") for m in events.messages if m["kind"] not in ("hello", "end"))
            assert everything.wait(lambda m: m["kind"] == "end" and m["run_id"] == run_id)["status"] == "succeeded"
        finally:
            assert elsewhere.wait(60) == 0, elsewhere.stderr.read() if elsewhere.stderr else ""


def test_a_follower_that_falls_behind_loses_messages_and_is_told_to_resync() -> None:
    async def scenario() -> list[dict[str, Any]]:
        hub = Hub()
        subscriber = hub.subscribe("r1")
        for number in range(subscriber.size + 500):
            hub.publish({"kind": "log", "run_id": "r1", "message": str(number)})
        hub.publish({"kind": "log", "run_id": "r2", "message": "another run"})
        return await subscriber.take(1)

    taken = asyncio.run(scenario())
    assert taken[0]["kind"] == "resync" and taken[0]["dropped"] == 500
    assert [m["message"] for m in taken[1:]] == [str(n) for n in range(QUEUE_SIZE)]


def test_a_finished_run_recorded_elsewhere_streams_its_end_only(tmp_path: Path) -> None:
    config = project(tmp_path)
    run(config, "--param", "count=400")  # hundreds of steps' rows, log lines and events in its history
    with serving(config) as live:
        run_id = live.get("/api/runs")["runs"][0]["run_id"]  # type: ignore[index]
        events = Stream(f"{live.url}/api/runs/{run_id}/events")
        assert events.closed.wait(30)
        assert events.messages == [{"kind": "hello", "run_id": run_id, "live": False},
                                   {"kind": "end", "run_id": run_id, "status": "succeeded"}]


def test_a_late_follower_of_a_live_run_gets_a_bounded_replay() -> None:
    async def scenario() -> list[dict[str, Any]]:
        hub = Hub()
        hub.expect("r1", Path("pipeline.yaml"), ())
        sink = hub.sink("r1")
        for number in range(BACKLOG + 300):
            sink(Event(Kind.LOG, "r1", message=str(number)))
        return await hub.subscribe("r1").take(1)

    taken = asyncio.run(scenario())
    assert taken[0]["kind"] == "resync" and taken[0]["dropped"] == 300
    assert [m["message"] for m in taken[1:]] == [str(n) for n in range(300, BACKLOG + 300)]
