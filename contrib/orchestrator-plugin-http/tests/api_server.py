"""A real HTTP server for the tests: stdlib ``http.server`` on 127.0.0.1, on a free port, in a
thread. It serves JSON pages for every pagination style and the failures the step must handle,
and records every request it receives (path, query, headers, arrival time) so tests can count
requests and check what was sent."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ITEMS: list[dict[str, Any]] = [{"id": n, "name": f"item-{n}"} for n in range(1, 8)]
TOKEN = "tok-3f9a-SECRET-value-7c21"


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float  # time.monotonic() when the request arrived


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None
    raw: bytes | None = None
    content_type: str = "application/json"


Route = Callable[["ApiServer", Recorded, int], Reply]


class ApiServer:
    """Start with :meth:`start`; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="api-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def hits(self, path: str) -> list[Recorded]:
        """The requests received for ``path``, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def record(self, request: Recorded) -> int:
        """Store a request; return how many requests for its path came before it."""
        with self._lock:
            before = sum(1 for r in self.requests if r.path == request.path)
            self.requests.append(request)
            return before

    def reply(self, request: Recorded, seen: int) -> Reply:
        route = ROUTES.get(request.path)
        if route is None:
            return Reply(404, {"error": "no such resource"})
        return route(self, request, seen)


def free_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _handler(api: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            # A header sent twice shows as "first, second", so a duplicate cannot hide.
            headers = {name.lower(): ", ".join(self.headers.get_all(name) or []) for name in set(self.headers.keys())}
            request = Recorded(parts.path, query, headers, time.monotonic())
            reply = api.reply(request, api.record(request))
            payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (reply.headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
            pass

    return Handler


# -- routes ----------------------------------------------------------------------------------


def _int(query: dict[str, str], name: str, default: int) -> int:
    return int(query.get(name, default))


def plain_list(api: ApiServer, r: Recorded, seen: int) -> Reply:
    return Reply(200, ITEMS[:3])


def page_numbers(api: ApiServer, r: Recorded, seen: int) -> Reply:
    page, size = _int(r.query, "page", 1), _int(r.query, "per_page", 3)
    rows = ITEMS[(page - 1) * size : page * size]
    return Reply(200, {"data": {"items": rows}, "page": page})


def offsets(api: ApiServer, r: Recorded, seen: int) -> Reply:
    offset, limit = _int(r.query, "offset", 0), min(_int(r.query, "limit", 10), 3)  # caps pages at 3
    return Reply(200, {"results": ITEMS[offset : offset + limit], "total": len(ITEMS)})


def cursors(api: ApiServer, r: Recorded, seen: int) -> Reply:
    start = int(r.query.get("cursor", "c0")[1:])
    following = start + 3
    return Reply(200, {"data": ITEMS[start:following], "meta": {"next_cursor": f"c{following}" if following < len(ITEMS) else None}})


def stuck_cursor(api: ApiServer, r: Recorded, seen: int) -> Reply:
    return Reply(200, {"data": ITEMS[:1], "meta": {"next_cursor": "same"}})


def next_in_body(api: ApiServer, r: Recorded, seen: int) -> Reply:
    page = _int(r.query, "p", 1)
    rows = ITEMS[(page - 1) * 3 : page * 3]
    following = f"/v1/next-body?p={page + 1}" if page * 3 < len(ITEMS) else None
    return Reply(200, {"items": rows, "links": {"next": following}})


def next_in_header(api: ApiServer, r: Recorded, seen: int) -> Reply:
    page = _int(r.query, "p", 1)
    rows = ITEMS[(page - 1) * 3 : page * 3]
    headers = {"Link": f'<{api.url}/v1/next-header?p={page + 1}>; rel="next", <{api.url}/v1/next-header?p=1>; rel="first"'} if page * 3 < len(ITEMS) else {}
    return Reply(200, rows, headers)


def endless(api: ApiServer, r: Recorded, seen: int) -> Reply:
    """A page number API that never ends: only max_pages stops it."""
    page = _int(r.query, "page", 1)
    return Reply(200, [{"id": page}])


def too_many_then_ok(api: ApiServer, r: Recorded, seen: int) -> Reply:
    if seen == 0:
        return Reply(429, {"error": "slow down"}, {"Retry-After": "1"})
    return Reply(200, ITEMS[:2])


def too_many_dated_then_ok(api: ApiServer, r: Recorded, seen: int) -> Reply:
    if seen == 0:
        return Reply(429, {"error": "slow down"}, {"Retry-After": formatdate(time.time() + 2, usegmt=True)})
    return Reply(200, ITEMS[:2])


def too_many_for_an_hour(api: ApiServer, r: Recorded, seen: int) -> Reply:
    return Reply(429, {"error": "slow down"}, {"Retry-After": "3600"})


def unavailable_twice(api: ApiServer, r: Recorded, seen: int) -> Reply:
    if seen < 2:
        return Reply(503, {"error": "try later"})
    return Reply(200, ITEMS[:4])


def always_unavailable(api: ApiServer, r: Recorded, seen: int) -> Reply:
    return Reply(503, {"error": "down"})


def secure(api: ApiServer, r: Recorded, seen: int) -> Reply:
    """Needs the test token; a refusal echoes the Authorization header back, as careless APIs do."""
    given = r.headers.get("authorization", "")
    if given != f"Bearer {TOKEN}":
        return Reply(401, {"error": "invalid token", "received": given})
    return Reply(200, {"data": ITEMS[:2]})


def bad_request(api: ApiServer, r: Recorded, seen: int) -> Reply:
    return Reply(400, {"error": "unknown filter", "echo": r.headers.get("x-api-key", "")})


def html(api: ApiServer, r: Recorded, seen: int) -> Reply:
    return Reply(200, raw=b"<html><body>Welcome to the portal</body></html>", content_type="text/html")


def nested_object(api: ApiServer, r: Recorded, seen: int) -> Reply:
    return Reply(200, {"data": {"things": [1, 2]}, "meta": {}})


ROUTES: dict[str, Route] = {
    "/v1/list": plain_list,
    "/v1/pages": page_numbers,
    "/v1/offset": offsets,
    "/v1/cursor": cursors,
    "/v1/stuck-cursor": stuck_cursor,
    "/v1/next-body": next_in_body,
    "/v1/next-header": next_in_header,
    "/v1/endless": endless,
    "/v1/rate-limited": too_many_then_ok,
    "/v1/rate-limited-date": too_many_dated_then_ok,
    "/v1/rate-limited-long": too_many_for_an_hour,
    "/v1/unavailable": unavailable_twice,
    "/v1/down": always_unavailable,
    "/v1/secure": secure,
    "/v1/bad-request": bad_request,
    "/v1/html": html,
    "/v1/object": nested_object,
}
