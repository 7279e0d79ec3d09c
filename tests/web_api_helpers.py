"""What the web API tests share: a real ``Server`` with its real HTTP side (uvicorn on a free port of
127.0.0.1) in this process, real pipeline files, and real runs recorded by ``orchestrator run``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from helpers import cli
from serve_process import not_before_next_month

from orchestrator.plugins.discovery import load_plugins

#: a step that logs, one that rejects some rows into the dead letters, and a pipeline after it
STEPS = '''
import os

def rows(context, count=3):
    context.logger.info("extracting %s rows with %s", count, os.environ.get("API_TOKEN", "no token"))
    return [{"id": i, "amount": i * 10} for i in range(int(count))]

def parse(rows):
    out = []
    for row in rows:
        if row["id"] == 1:
            raise ValueError(f"row {row['id']} is bad")
        out.append(row)
    return out

def gated(context, gate=""):
    """Waits until the file ``gate`` exists (none: at once): a run the test lets go of."""
    import pathlib
    import time

    while gate and not pathlib.Path(gate).exists():
        time.sleep(0.05)
    context.logger.info("the gate is open")
    return [{"id": 1}]

def check(rows, broken=""):
    """Fails while the file ``broken`` exists."""
    import pathlib

    if broken and pathlib.Path(broken).exists():
        raise RuntimeError("broken on purpose: remove the flag file")
    return rows
'''

#: one pipeline that waits for a gate file and fails while a flag file exists (both given as params)
GATED = """\
params: {gate: "", broken: ""}
pipelines:
  gated:
    type: ETL
    phases:
      extract: {steps: [{id: wait, plugin: python.call, args: {callable: "steps:gated", kwargs: {gate: "${params.gate}"}}}]}
      transform: {steps: [{id: check, plugin: python.call, args: {callable: "steps:check", kwargs: {broken: "${params.broken}"}}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out/gated.jsonl}}]}
  after:
    type: ETL
    depends_on: [gated]
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out/after.jsonl}}]}
"""

CONFIG = """\
params: {count: 3}
pipelines:
  orders:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:rows", kwargs: {count: "${params.count}"}}}]}
      transform: {steps: [{id: parse, plugin: python.call, args: {callable: "steps:parse"}, on_error: dead_letter}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out/orders.jsonl}}]}
  report:
    type: ETL
    depends_on: [orders]
    schedule: {cron: "0 0 1 1 *", catchup: none, start: START}
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out/report.jsonl}}]}
""".replace("START", not_before_next_month())  # listed with its next new year, never fired by a test

SECRET = "tok-5ecret-9f8e7d6c"


def project(folder: Path, config: str = CONFIG, name: str = "pipeline.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(config)
    (folder / "steps.py").write_text(STEPS)
    return folder / name


def run(config: Path, *args: str, ok: bool = True) -> None:
    done = cli("run", str(config), *args, cwd=config.parent, env={"API_TOKEN": SECRET}, timeout=120)
    assert (done.returncode == 0) == ok, done.stdout + done.stderr


@dataclass
class Live:
    server: object
    url: str
    client: httpx.Client

    def get(self, path: str, status: int = 200) -> object:
        response = self.client.get(path)
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json")
        return response.json()


@contextmanager
def serving(*targets: Path, env: dict[str, str] | None = None) -> Iterator[Live]:
    """``orchestrator serve TARGETS`` in this process: the real scheduler loop in a thread, its real
    HTTP side on a free port."""
    import os

    from orchestrator.serve.server import Server
    from orchestrator.serve.web import HttpServer

    saved = dict(os.environ)
    os.environ.update({"API_TOKEN": SECRET, **(env or {})})
    server = Server([str(t) for t in targets], load_plugins(env={"ORCHESTRATOR_LOAD_PLUGINS": "builtin"}))
    http = HttpServer(server, "127.0.0.1", 0)
    ready = threading.Event()
    loop = threading.Thread(target=server.serve, args=(lambda: (http.start(), ready.set()),), daemon=True)
    loop.start()
    assert ready.wait(30), "the server did not start"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{http.port}", timeout=30) as client:
            yield Live(server, f"http://127.0.0.1:{http.port}", client)
    finally:
        server.stop()
        loop.join(60)
        http.stop()
        os.environ.clear()
        os.environ.update(saved)


class Stream:
    """A server-sent event stream read in a thread: every ``data:`` message, parsed."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        import json

        self.messages: list[dict[str, object]] = []
        self.status = 0
        self.content_type = ""
        self.opened = threading.Event()
        self.closed = threading.Event()

        def read() -> None:
            try:
                with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(60, read=120)) as response:
                    self.status, self.content_type = response.status_code, response.headers.get("content-type", "")
                    self.opened.set()
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            self.messages.append(json.loads(line[6:]))
            except httpx.HTTPError as exc:  # the server went away: said as a message the test can see
                self.messages.append({"kind": "connection_lost", "error": str(exc)})
            finally:
                self.opened.set()
                self.closed.set()

        threading.Thread(target=read, daemon=True).start()
        assert self.opened.wait(30), "the stream did not open"

    def wait(self, predicate: object, timeout: float = 60) -> dict[str, object]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in list(self.messages):
                if predicate(message):  # type: ignore[operator]
                    return message
            if self.closed.is_set() and not any(predicate(m) for m in self.messages):  # type: ignore[operator]
                break
            time.sleep(0.05)
        raise AssertionError(f"no such message within {timeout}s: {self.messages}")

    def kinds(self) -> list[object]:
        return [m["kind"] for m in self.messages]
