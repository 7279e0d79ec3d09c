"""The security of ``orchestrator serve``'s HTTP side, each rule against a real server process on
127.0.0.1 (httpx): no other address without an access token; with one, every request needs it
(bearer header, or the cookie a ``?token=`` login sets); POSTs need the custom header and a
same-site origin; a foreign Host header is refused; answers are JSON data, never HTML; no secret
reaches any answer (every route, event streams included); runs of files the server does not serve
stay out of reach; every route is in the OpenAPI document."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import BIN, cli
from web_api_helpers import CONFIG, SECRET, project, run, serving

ORCHESTRATOR = str(BIN / "orchestrator")
TOKEN = "t0ken-for-tests-0123456789abcdef"
ACT = {"X-Orchestrator-Request": "1"}


@contextmanager
def served(folder: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A real ``orchestrator serve`` process; yields its base URL on 127.0.0.1."""
    log = folder / f"serve-{time.monotonic_ns()}.log"
    with log.open("w") as handle:
        process = subprocess.Popen([ORCHESTRATOR, "serve", str(folder), "--port", "0", *options], cwd=folder, stdout=handle,
                                   stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", "API_TOKEN": SECRET, **(env or {})})
        try:
            deadline = time.monotonic() + 60
            while not (found := re.search(r"serving on http://[^:]+:(\d+)", log.read_text())):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            yield f"http://127.0.0.1:{found.group(1)}"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


def test_another_address_is_refused_without_a_token(tmp_path: Path) -> None:
    project(tmp_path)
    done = cli("serve", str(tmp_path), "--host", "0.0.0.0", cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --host 0.0.0.0: listening on an address other machines can reach needs an access token")
    assert "--token-file PATH or set ORCHESTRATOR_SERVE_TOKEN" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "short").write_text("abc\n")
    done = cli("serve", str(tmp_path), "--host", "0.0.0.0", "--token-file", str(tmp_path / "short"), cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "the access token must be at least 16 characters" in done.stderr
    done = cli("serve", str(tmp_path), "--token-file", str(tmp_path / "missing"), cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "cannot be read" in done.stderr


def test_with_a_token_every_request_needs_it(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "token").write_text(TOKEN + "\n")
    with served(tmp_path, "--host", "0.0.0.0", "--token-file", str(tmp_path / "token")) as url:
        for path in ("/api/runs", "/api/health", "/", "/api/openapi.json"):
            refused = httpx.get(url + path)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert "an access token is needed" in refused.json()["error"]
        assert httpx.get(url + "/api/runs", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
        assert httpx.get(url + "/api/runs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert httpx.get(url + "/api/runs?token=wrong").status_code == 401
        with httpx.Client(base_url=url) as browser:
            login = browser.get(f"/api/runs?limit=5&token={TOKEN}")
            assert login.status_code == 303 and login.headers["location"] == "/api/runs?limit=5"
            cookie = login.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
            assert browser.get("/api/runs?limit=5").status_code == 200
        with httpx.Client(base_url=url) as browser:  # behind a proxy that serves it below /tools/etl
            login = browser.get(f"/runs?token={TOKEN}&status=failed", headers={"X-Forwarded-Prefix": "/tools/etl/"})
            assert login.status_code == 303 and login.headers["location"] == "/tools/etl/runs?status=failed"
            assert "Path=/tools/etl" in login.headers["set-cookie"]
            foreign = browser.get(f"/runs?token={TOKEN}", headers={"X-Forwarded-Prefix": "//evil.example"})
            assert foreign.status_code == 303 and foreign.headers["location"] == "/runs"  # not a plain path: ignored
            missing = browser.get("/api/nothing", headers={"Authorization": f"Bearer {TOKEN}", "X-Forwarded-Prefix": "/tools/etl"})
            assert missing.status_code == 404 and "no such route: /tools/etl/api/nothing;" in missing.json()["error"]
            assert browser.post("/api/schedules/pipeline.yaml/report/pause", headers=ACT).json() == {
                "file": "pipeline.yaml", "pipeline": "report", "paused": True}
    with served(tmp_path, env={"ORCHESTRATOR_SERVE_TOKEN": TOKEN}) as url:
        assert httpx.get(url + "/api/health").status_code == 401
        assert httpx.get(url + "/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_actions_are_post_only_and_refuse_cross_site_requests(tmp_path: Path) -> None:
    project(tmp_path)
    with served(tmp_path) as url:
        pause = url + "/api/schedules/pipeline.yaml/report/pause"
        wrong_method = httpx.get(pause)
        assert wrong_method.status_code == 405 and wrong_method.json() == {"error": "GET is not allowed on /api/schedules/pipeline.yaml/report/pause"}
        bare = httpx.post(pause)
        assert bare.status_code == 403 and "needs the header 'X-Orchestrator-Request: 1'" in bare.json()["error"]
        foreign = httpx.post(pause, headers={**ACT, "Origin": "https://evil.example"})
        assert foreign.status_code == 403 and "cross-site POST is refused" in foreign.json()["error"]
        fetched = httpx.post(pause, headers={**ACT, "Sec-Fetch-Site": "cross-site"})
        assert fetched.status_code == 403
        assert httpx.post(pause, headers={**ACT, "Origin": url}).status_code == 200
        proxied = {**ACT, "Origin": "https://etl.example.com", "X-Forwarded-Host": "etl.example.com"}
        assert httpx.post(pause, headers=proxied).status_code == 200  # behind a proxy that says where it was asked
        assert httpx.post(pause, headers=ACT).status_code == 200  # not from a browser: no Origin at all


def test_a_foreign_host_header_is_refused(tmp_path: Path) -> None:
    project(tmp_path)
    with served(tmp_path) as url:
        rebound = httpx.get(url + "/api/runs", headers={"Host": "evil.example"})
        assert rebound.status_code == 403 and "answers requests to 127.0.0.1" in rebound.json()["error"]
        assert httpx.get(url + "/api/runs", headers={"Host": "localhost:8765"}).status_code == 200


def test_answers_are_json_data_with_headers_that_keep_them_data(tmp_path: Path) -> None:
    config = project(tmp_path, CONFIG.replace("params: {count: 3}", "params: {count: 3, label: x}"))
    run(config, "--pipeline", "orders", "--param", "label=<img src=x onerror=alert(1)>")
    with serving(config) as live:
        response = live.client.get("/api/runs")
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "<img" not in response.text and "\\u003cimg src=x onerror=alert(1)\\u003e" in response.text
        assert response.json()["runs"][0]["params"] == {"count": 3, "label": "<img src=x onerror=alert(1)>"}


def _every_answer(live: Any, run_ids: list[str]) -> Iterator[tuple[str, str]]:
    """(path, body) of every GET route of the OpenAPI document, with each run id filled in."""
    document = live.client.get("/api/openapi.json").json()
    for path, methods in document["paths"].items():
        if "get" not in methods:
            continue
        for run_id in run_ids:
            concrete = path.replace("{run_id}", run_id).replace("{a}", run_ids[0]).replace("{b}", run_id).replace("{pipeline}", "orders")
            with live.client.stream("GET", concrete) as response:
                if concrete == "/api/events":  # it never ends: its first message is enough
                    yield concrete, next(response.iter_lines())
                else:  # the event stream of an ended run ends
                    yield concrete, response.read().decode()
            if concrete == path:
                break


def test_no_secret_reaches_any_answer(tmp_path: Path) -> None:
    config = project(tmp_path, CONFIG.replace("params: {count: 3}", "params: {count: 3}\nstate: sqlite:///.orchestrator/state.db\n"
                                              "# postgresql://loader:hunter2pass@db.example/warehouse"))
    (tmp_path / "steps.py").write_text((tmp_path / "steps.py").read_text().replace(
        'raise ValueError(f"row {row[\'id\']} is bad")', 'raise ValueError(f"row {row[\'id\']} is bad: {os.environ[\'API_TOKEN\']}")'))
    run(config)
    with serving(config) as live:
        run_ids = [r["run_id"] for r in live.get("/api/runs")["runs"]]  # type: ignore[index]
        bodies = dict(_every_answer(live, run_ids))
        assert any("extracting 3 rows with ***" in body for body in bodies.values())
        assert any("is bad: ***" in body for body in bodies.values())
        assert any("postgresql://loader:***@db.example" in body for body in bodies.values())
        for path, body in bodies.items():
            assert SECRET not in body and "hunter2pass" not in body, path
        assert len(bodies) >= 14


def test_runs_of_files_not_served_stay_out_of_reach(tmp_path: Path) -> None:
    served_config = project(tmp_path)
    other = project(tmp_path, name="other.yaml")
    run(other, "--pipeline", "orders")
    run(served_config, "--pipeline", "orders")
    with serving(served_config) as live:
        (listed,) = live.get("/api/runs")["runs"]  # type: ignore[index]
        assert listed["file"] == "pipeline.yaml"
        import sqlite3

        with sqlite3.connect(tmp_path / ".orchestrator" / "state.db") as db:
            (hidden,) = db.execute("SELECT run_id FROM runs WHERE config LIKE '%other.yaml'").fetchone()
        for path in (f"/api/runs/{hidden}", f"/api/runs/{hidden}/config", f"/api/runs/{hidden}/dead-letters", f"/api/runs/{hidden}/logs"):
            assert "of a served file" in live.get(path, 404)["error"]  # type: ignore[index]
        assert "no served file 'other.yaml'" in live.get("/api/runs?file=other.yaml", 404)["error"]  # type: ignore[index]


def test_every_route_is_in_the_openapi_document(tmp_path: Path) -> None:
    from starlette.routing import Route

    from orchestrator.serve.server import Server
    from orchestrator.serve.web import app

    config = project(tmp_path)
    with serving(config) as live:
        document = live.get("/api/openapi.json")
        assert document["openapi"] == "3.1.0"  # type: ignore[index]
        documented = {(path, method.upper()) for path, methods in document["paths"].items() for method in methods}  # type: ignore[index]
        routes = {(r.path, method) for r in app(live.server).routes if isinstance(r, Route) and r.path.startswith("/api/")  # type: ignore[arg-type]
                  for method in (r.methods or ()) if method != "HEAD"}
        assert routes == documented
        assert isinstance(live.server, Server)
