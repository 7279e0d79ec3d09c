"""Notifications on real runs: a webhook received by a real HTTP server, e-mail received by a real
SMTP server, the log channel in the run's output, a channel from an installed plugin, and the
promises around them (secrets redacted, a failed send is a warning that never changes the exit
code, the end of a run waits a bounded time)."""

from __future__ import annotations

import email
import json
import re
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from helpers import cli, installed
from orchestrator import hookimpl
from orchestrator.config.interpolate import redactor
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.errors import ConfigError
from orchestrator.events import Event
from orchestrator.notify import Dispatcher, Notification
from orchestrator.plugins.discovery import Plugins
from orchestrator.plugins.registry import Origin

STEPS = '''
def rows():
    return [{"n": 1}, {"n": 2}]

def always_fails():
    raise ConnectionError("still down")

def wrong_value():
    raise ValueError("bad row")

def rejects(token):
    raise PermissionError(f"token {token} was rejected")
'''

FAST = "{attempts: 3, initial: 10ms, jitter: false}"


def pipeline(name: str, callable_: str = "rows", extra: str = "", step: str = "") -> str:
    """One ETL pipeline whose extract step ``src`` calls ``steps:<callable_>``."""
    return (
        f"  {name}:\n    type: ETL\n{extra}    phases:\n"
        f"      extract: {{steps: [{{id: src, plugin: python.call, args: {{callable: 'steps:{callable_}'}}{step}}}]}}\n"
        f"      load: {{steps: [{{plugin: jsonl.write, args: {{path: {name}.jsonl}}}}]}}\n"
    )


def config(tmp_path: Path, notify: str, *pipelines: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "steps.py").write_text(STEPS)
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"state: 'off'\n{notify}\npipelines:\n" + "".join(pipelines))
    return path


# -- a real HTTP server ---------------------------------------------------------------------------


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    posts: list[Post] = field(default_factory=list)

    def at(self, path: str) -> list[dict[str, Any]]:
        return [post.json for post in self.posts if post.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 that records every POST; it answers 500 on ``/broken``."""
    received = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.posts.append(Post(self.path, dict(self.headers), body))
            self.send_response(500 if self.path == "/broken" else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def env_for(receiver: Receiver, **extra: str) -> dict[str, str]:
    return {"ALERT_URL": receiver.url, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1", **extra}


# -- webhook ------------------------------------------------------------------------------------------


def test_webhook_posts_success_failure_and_retry_exhausted_from_a_real_run(tmp_path: Path, receiver: Receiver) -> None:
    path = config(
        tmp_path,
        "notify:\n"
        "  - {channel: webhook, url: '${ALERT_URL}/all', headers: {X-Team: data}, on: [success, failure, retry_exhausted]}\n"
        "  - {channel: webhook, url: '${ALERT_URL}/default'}\n",
        pipeline("good"),
        pipeline("bad", "always_fails", step=f", retry: {FAST}"),
    )
    done = cli("run", str(path), "--json", env=env_for(receiver))
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    run_id = json.loads(done.stdout.splitlines()[0])["run_id"]

    every = {(n["event"], n["pipeline"]): n for n in receiver.at("/all")}
    assert sorted(every) == [("failure", "bad"), ("retry_exhausted", "bad"), ("success", "good")]
    success, failure, exhausted = every["success", "good"], every["failure", "bad"], every["retry_exhausted", "bad"]
    assert success["status"] == "succeeded" and success["error"] is None
    assert failure["status"] == "failed"
    assert failure["error"] == "step 'src' (python.call) failed: ConnectionError: still down"
    assert failure["text"].startswith("pipeline 'bad' failed in ")
    assert (exhausted["step"], exhausted["attempts"], exhausted["error"]) == ("src", 3, "ConnectionError: still down")
    assert exhausted["text"] == "step 'src' of pipeline 'bad' failed after 3 attempts: ConnectionError: still down"
    for notification in every.values():
        assert notification["run_id"] == run_id
        assert notification["config"] == str(path.resolve())
        assert abs(notification["time"] - time.time()) < 120
    assert isinstance(success["elapsed"], float) and isinstance(failure["elapsed"], float)

    headers = next(post.headers for post in receiver.posts if post.path == "/all")
    assert headers["Content-Type"] == "application/json" and headers["X-Team"] == "data"
    # without 'on:', a channel hears of failures and exhausted retries only
    assert sorted(n["event"] for n in receiver.at("/default")) == ["failure", "retry_exhausted"]


def test_webhook_posts_from_worker_processes_too(tmp_path: Path, receiver: Receiver) -> None:
    path = config(
        tmp_path,
        "notify: [{channel: webhook, url: '${ALERT_URL}/hook', on: [success, failure, retry_exhausted]}]",
        pipeline("good"),
        pipeline("bad", "always_fails", step=f", retry: {FAST}"),
    )
    done = cli("run", str(path), "--executor", "process", env=env_for(receiver))
    assert done.returncode == 1, done.stdout + done.stderr
    assert sorted((n["event"], n["pipeline"]) for n in receiver.at("/hook")) == [
        ("failure", "bad"), ("retry_exhausted", "bad"), ("success", "good"),
    ]


def test_secrets_never_reach_the_webhook(tmp_path: Path, receiver: Receiver) -> None:
    secret = "tok-5f1c2e9a7d3b"
    (tmp_path / "steps.py").write_text(STEPS)
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "state: 'off'\n"
        "notify: [{channel: webhook, url: '${ALERT_URL}/hook'}, {channel: log}]\n"
        "pipelines:\n"
        "  leaky:\n    type: ETL\n    phases:\n"
        "      extract: {steps: [{id: src, plugin: python.call, retry: {attempts: 2, initial: 10ms},\n"
        "                         args: {callable: 'steps:rejects', kwargs: {token: '${ORCHESTRATOR_TEST_API_TOKEN}'}}}]}\n"
        "      load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}\n"
    )
    done = cli("run", str(path), env=env_for(receiver, ORCHESTRATOR_TEST_API_TOKEN=secret))
    assert done.returncode == 1
    bodies = [post.body.decode() for post in receiver.posts]
    assert len(bodies) == 2  # retry_exhausted and failure
    for body in bodies:
        assert secret not in body
        assert "token *** was rejected" in body
    assert secret not in done.stdout + done.stderr
    assert "notify: pipeline 'leaky' failed in " in done.stdout


def test_a_webhook_that_cannot_be_reached_is_a_warning_and_the_exit_code_stays(tmp_path: Path, receiver: Receiver) -> None:
    port = closed_port()
    notify = (
        "notify:\n"
        f"  - {{channel: webhook, url: 'http://127.0.0.1:{port}/hook', timeout: 5, on: [success, failure]}}\n"
        "  - {channel: webhook, url: '${ALERT_URL}/broken', on: [success, failure]}\n"
    )
    succeeded = cli("run", str(config(tmp_path / "ok", notify, pipeline("good"))), env=env_for(receiver))
    assert succeeded.returncode == 0, succeeded.stderr
    prefix = "warning: notification to channel 'webhook' failed (success, pipeline 'good'):"
    assert succeeded.stderr.splitlines() == [
        f"{prefix} cannot reach 127.0.0.1:{port}: Connection refused",
        f"{prefix} {receiver.url.removeprefix('http://')} answered 500 Internal Server Error",
    ]
    assert "run " in succeeded.stdout and "succeeded in" in succeeded.stdout

    failed = cli("run", str(config(tmp_path / "bad", notify, pipeline("bad", "always_fails"))), env=env_for(receiver))
    assert failed.returncode == 1
    assert f"(failure, pipeline 'bad'): cannot reach 127.0.0.1:{port}" in failed.stderr
    assert "Traceback" not in failed.stderr


# -- log ------------------------------------------------------------------------------------------------


def test_log_channel_writes_one_line_per_notification_in_the_run_output(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "notify: [{channel: log, on: [success, failure, retry_exhausted]}]",
        pipeline("good"),
        pipeline("bad", "always_fails", step=f", retry: {FAST}"),
        pipeline("quiet", "wrong_value", extra="    notify: [{channel: log, level: error}]\n"),
    )
    done = cli("run", str(path))
    assert done.returncode == 1
    lines = sorted(line.split(" ", 1)[1] for line in done.stdout.splitlines() if "notify: " in line)
    elapsed = r"in \d+\.\d\ds"
    expected = sorted([
        rf"good info: notify: pipeline 'good' succeeded {elapsed}",
        r"bad src warning: notify: step 'src' of pipeline 'bad' failed after 3 attempts: ConnectionError: still down",
        rf"bad warning: notify: pipeline 'bad' failed {elapsed}: step 'src' \(python.call\) failed: ConnectionError: still down",
        rf"quiet error: notify: pipeline 'quiet' failed {elapsed}: step 'src' \(python.call\) failed: ValueError: bad row",
    ])
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected):
        assert re.fullmatch(pattern, line), (line, pattern)
    # the engine's own line for the exhausted retry policy
    assert "bad extract src failed on its last attempt (3 in all): ConnectionError: still down" in done.stdout

    as_json = cli("run", str(path), "--json")
    logs = [json.loads(line) for line in as_json.stdout.splitlines() if '"kind": "log"' in line]
    assert sorted((log["pipeline"], log["step"] or "", log["level"]) for log in logs) == [
        ("bad", "", "warning"), ("bad", "src", "warning"), ("good", "", "info"), ("quiet", "", "error"),
    ]
    exhausted = [json.loads(line) for line in as_json.stdout.splitlines() if '"kind": "retry_exhausted"' in line]
    assert [(e["pipeline"], e["step"], e["attempts"], e["status"]) for e in exhausted] == [("bad", "src", 3, "failed")]


# -- smtp -----------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    port: int
    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that asks for a login and keeps every message."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    box = Mailbox(closed_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        box.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"pw-4c1f9e", handled=False)  # the server answers 535

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port, authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def test_smtp_channel_sends_an_email_to_a_real_server(tmp_path: Path, mailbox: Mailbox) -> None:
    path = config(
        tmp_path,
        "notify:\n"
        "  - channel: smtp\n"
        f"    host: 127.0.0.1\n    port: {mailbox.port}\n"
        "    from: etl@example.com\n    to: [data@example.com, oncall@example.com]\n"
        "    username: etl\n    password: '${ORCHESTRATOR_TEST_SMTP_PASSWORD}'\n",
        pipeline("good"),
        pipeline("bad", "always_fails"),
    )
    done = cli("run", str(path), env={"ORCHESTRATOR_TEST_SMTP_PASSWORD": "pw-4c1f9e"})
    assert done.returncode == 1
    assert done.stderr == ""
    assert mailbox.logins == [(b"etl", b"pw-4c1f9e")]
    ((sender, recipients, message),) = mailbox.messages  # a failure; no mail for the success
    assert sender == "etl@example.com"
    assert recipients == ["data@example.com", "oncall@example.com"]
    assert message["Subject"] == "[orchestrator] pipeline 'bad' failed"
    assert message["To"] == "data@example.com, oncall@example.com"
    body = message.get_payload(decode=True).decode()
    assert body.startswith("pipeline 'bad' failed in ")
    assert "error: step 'src' (python.call) failed: ConnectionError: still down" in body
    assert f"config: {path.resolve()}" in body


def test_smtp_with_a_wrong_password_is_a_warning(tmp_path: Path, mailbox: Mailbox) -> None:
    path = config(
        tmp_path,
        f"notify: [{{channel: smtp, host: 127.0.0.1, port: {mailbox.port}, from: a@example.com, to: [b@example.com],"
        " username: etl, password: '${ORCHESTRATOR_TEST_SMTP_PASSWORD}'}]",
        pipeline("bad", "always_fails"),
    )
    done = cli("run", str(path), env={"ORCHESTRATOR_TEST_SMTP_PASSWORD": "wrong-password-1"})
    assert done.returncode == 1
    assert done.stderr.startswith("warning: notification to channel 'smtp' failed (failure, pipeline 'bad'): SMTPAuthenticationError")
    assert "wrong-password-1" not in done.stderr
    assert mailbox.messages == []


# -- channels from plugins, and the dispatcher's own promises ---------------------------------------------


@pytest.fixture(scope="module")
def pager_installed() -> Iterator[None]:
    with installed("orchestrator-plugin-pager"):
        yield


def test_a_plugin_adds_a_channel_that_runs_and_is_listed(tmp_path: Path, pager_installed: None) -> None:
    env = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin,pager"}
    pages = tmp_path / "pages.jsonl"
    path = config(tmp_path, f"notify: [{{channel: pager, path: '{pages}', severity: low}}]", pipeline("bad", "always_fails"))
    done = cli("run", str(path), env=env)
    assert done.returncode == 1, done.stderr
    (page,) = [json.loads(line) for line in pages.read_text().splitlines()]
    assert (page["severity"], page["event"], page["pipeline"]) == ("low", "failure", "bad")

    listed = json.loads(cli("plugins", "--json", env=env).stdout)
    by_name = {plugin["name"]: plugin for plugin in listed["plugins"]}
    assert by_name["pager"]["notifiers"] == ["pager"]
    assert by_name["pager"]["distribution"] == "orchestrator-plugin-pager"
    assert "register_notifiers" in by_name["pager"]["hooks"]
    assert by_name["builtin"]["notifiers"] == ["log", "smtp", "webhook"]
    assert "  notifiers:         pager" in cli("plugins", env=env).stdout

    path.write_text(path.read_text().replace("severity: low", "severity: urgent"))
    invalid = cli("validate", str(path), env=env)
    assert invalid.returncode == 2
    assert invalid.stderr.startswith(f"{path}:2: $.notify[0].severity: expected one of low, high, got the string 'urgent'")


class Collect:
    """A plugin with a channel that keeps what it is sent, one that fails, and one that is slow."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Notification]] = []

    @hookimpl
    def register_notifiers(self, register) -> None:
        def collect(name: str = "collect"):
            return lambda notification: self.sent.append((name, notification))

        def broken():
            raise RuntimeError("no route to the pager")

        def slow(seconds: float):
            return lambda notification: time.sleep(seconds)

        register("collect", collect, schema={"type": "object", "properties": {"name": {"type": "string"}}})
        register("broken", broken)
        register("slow", slow)


@dataclass
class Dispatched:
    """What :func:`dispatch` saw: the warnings, the events, and how long the run and the final wait took."""

    warnings: list[str]
    events: list[Event]
    ok: bool
    ran: float
    closed: float


def dispatch(plugins: Plugins, write_config, text: str, plugin: Any, *, close: float = 30.0, **dispatcher: Any) -> Dispatched:
    """Run a config in-process with ``plugin`` added, notifying as ``orchestrator run`` does."""
    assert plugins.add(plugin, Origin("channels", "tests", "0"))
    plan = load_plan(write_config(text, **{"steps.py": STEPS}), plugins.registry)
    warnings: list[str] = []
    events: list[Event] = []
    notifier = Dispatcher(plan, plugins.registry, warn=warnings.append, **dispatcher)
    started = time.perf_counter()
    result = Engine(plan, plugins, notifier.watching(events.append)).run_sync()
    ran = time.perf_counter()
    notifier.close(timeout=close)
    return Dispatched(warnings, events, result.ok, ran - started, time.perf_counter() - ran)


def test_a_pipeline_notify_replaces_the_file_one_and_an_empty_list_silences(plugins: Plugins, write_config) -> None:
    text = (
        "notify: [{channel: collect, name: file}]\n"
        "pipelines:\n"
        + pipeline("inherits", "always_fails")
        + pipeline("own", "always_fails", extra="    notify: [{channel: collect, name: own}]\n")
        + pipeline("silent", "always_fails", extra="    notify: []\n")
    )
    done = dispatch(plugins, write_config, text, collect := Collect())
    assert done.warnings == []
    assert sorted((name, n.pipeline) for name, n in collect.sent) == [("file", "inherits"), ("own", "own")]
    assert {e.pipeline for e in done.events if e.kind == "pipeline_finished"} == {"inherits", "own", "silent"}


def test_a_failing_channel_is_a_warning_and_the_others_still_send(plugins: Plugins, write_config) -> None:
    text = "notify: [{channel: broken}, {channel: collect}]\npipelines:\n" + pipeline("bad", "always_fails")
    done = dispatch(plugins, write_config, text, collect := Collect())
    assert done.warnings == ["warning: notification to channel 'broken' failed (failure, pipeline 'bad'): RuntimeError: no route to the pager"]
    assert [n.event for _, n in collect.sent] == ["failure"]


def test_the_end_of_a_run_waits_a_bounded_time_for_a_slow_channel(plugins: Plugins, write_config) -> None:
    text = "notify: [{channel: slow, seconds: 5}]\npipelines:\n" + pipeline("bad", "always_fails")
    done = dispatch(plugins, write_config, text, Collect(), close=0.2)
    assert not done.ok
    assert done.ran < 2, "the run itself never waits for a channel"
    assert done.closed < 1
    assert done.warnings == ["warning: notifications still being sent after 0.2s were abandoned"]


def test_notifications_are_redacted_before_any_channel_sees_them(plugins: Plugins, write_config) -> None:
    text = "notify: [{channel: collect}]\npipelines:\n" + pipeline("bad", "always_fails")
    dispatch(plugins, write_config, text, collect := Collect(), redact=redactor(frozenset({"still down"})))
    ((_, notification),) = collect.sent
    assert notification.error == "step 'src' (python.call) failed: ConnectionError: ***"


def test_without_notify_the_cli_does_not_import_the_notification_module(tmp_path: Path) -> None:
    path = config(tmp_path, "", pipeline("good"))
    probe = (
        "import sys; from orchestrator.cli import main\n"
        "try:\n    main(['run', sys.argv[1]])\nexcept SystemExit as exit:\n"
        "    print('notify' if 'orchestrator.notify' in sys.modules else 'none', exit.code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.splitlines()[-1] == "none 0", done.stdout + done.stderr


# -- the channel of docs/plugins/writing-a-plugin.md ------------------------------------------------------

PLUGIN_PAGE = Path(__file__).resolve().parent.parent / "docs" / "plugins" / "writing-a-plugin.md"
CHAT_BLOCK = '```python title="orchestrator-chat/orchestrator_chat.py"\n'


def documented_chat_channel() -> types.ModuleType:
    """The page's chat channel, as the module a plugin distribution would ship."""
    text = PLUGIN_PAGE.read_text(encoding="utf-8")
    assert CHAT_BLOCK in text, "writing-a-plugin.md shows the chat channel"
    source = text.split(CHAT_BLOCK, 1)[1].split("\n```", 1)[0]
    module = types.ModuleType("orchestrator_chat")
    exec(compile(source, str(PLUGIN_PAGE), "exec"), module.__dict__)
    return module


def test_the_documented_chat_channel_posts_and_reports_failures(plugins: Plugins, write_config, receiver: Receiver) -> None:
    text = (
        "notify:\n"
        f"  - {{channel: chat, url: '{receiver.url}/chat', mention: '@oncall', on: [success, failure]}}\n"
        f"  - {{channel: chat, url: 'http://127.0.0.1:{closed_port()}/chat'}}\n"
        "pipelines:\n" + pipeline("good") + pipeline("bad", "always_fails")
    )
    done = dispatch(plugins, write_config, text, documented_chat_channel())
    posted = sorted(message["text"] for message in receiver.at("/chat"))
    assert len(posted) == 2
    assert posted[0].startswith("@oncall pipeline 'bad' failed in ")
    assert posted[0].endswith(": step 'src' (python.call) failed: ConnectionError: still down")
    assert posted[1].startswith("pipeline 'good' succeeded in ")
    (warning,) = done.warnings
    assert warning.startswith("warning: notification to channel 'chat' failed (failure, pipeline 'bad'): the chat did not take the message: ")
    assert warning.endswith("Connection refused")

    with pytest.raises(ConfigError, match=r"\$\.notify\[0\]: missing required key 'url'"):
        load_plan(write_config("notify: [{channel: chat}]\npipelines:\n" + pipeline("good"), name="no-url.yaml"), plugins.registry)
