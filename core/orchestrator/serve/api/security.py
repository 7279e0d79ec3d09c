"""What every request to ``orchestrator serve`` passes before it reaches a route, pages included.

- **Where it listens.** 127.0.0.1 by default. Any other address (``--host 0.0.0.0``) is refused
  unless an access token is configured (``--token-file PATH`` or ``ORCHESTRATOR_SERVE_TOKEN``).
- **The token.** When one is configured, every request needs it: ``Authorization: Bearer TOKEN``
  (scripts, other systems), or the session cookie a browser gets by opening any page once with
  ``?token=TOKEN`` (it is answered with a redirect to the same address without the token, setting
  an ``HttpOnly``, ``SameSite=Strict`` cookie that holds a keyed hash of the token, not the token).
  A request without it is a 401.
- **A path prefix.** A reverse proxy that serves the server below a path (``/orchestrator/``)
  strips it and says what it was in ``X-Forwarded-Prefix`` (:func:`forwarded_prefix`): the
  ``?token=`` redirect and the session cookie's path keep it, as the pages' links do.
- **The Host header.** Without a token the server answers only requests addressed to the loopback
  names (``127.0.0.1``, ``localhost``, ``[::1]``): a web page whose domain is made to resolve to
  127.0.0.1 (DNS rebinding) gets a 403, not the API.
- **Cross-site requests.** Every method but GET, HEAD and OPTIONS (the actions are POST only) needs
  the header ``X-Orchestrator-Request: 1``, which a browser lets a page send only to its own origin;
  a request whose ``Origin`` names another host than the one it was sent to (``Host``, or
  ``X-Forwarded-Host`` from a reverse proxy), or that the browser marks ``Sec-Fetch-Site:
  cross-site``, is a 403 whatever it carries.
- **Answers.** Every answer says ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and
  ``Referrer-Policy: no-referrer``; the API's also ``Cache-Control: no-store`` and a
  ``Content-Security-Policy`` that allows nothing (JSON is data, never a document).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from orchestrator.serve.api.responses import dumps

__all__ = ["COOKIE", "CSRF_HEADER", "TOKEN_ENV", "Guard", "TokenError", "forwarded_prefix", "is_loopback", "read_token"]

TOKEN_ENV = "ORCHESTRATOR_SERVE_TOKEN"
CSRF_HEADER = "x-orchestrator-request"
COOKIE = "orchestrator_session"
#: the shortest token accepted: a guessable one would protect nothing
SHORTEST_TOKEN = 16
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: a path prefix a reverse proxy may announce (``X-Forwarded-Prefix: /orchestrator``): plain path
#: segments only, so the header can never inject markup into a page or a redirect to another site
PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)*")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def forwarded_prefix(request: Any) -> str:
    """Where the server lives below the proxy's root (``""`` when it is not below one): from
    ``X-Forwarded-Prefix``, else the ASGI ``root_path``, each taken only when a plain path. Every
    address the server hands a browser (page links, the login redirect, the cookie) starts with it."""
    announced = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    root = request.scope.get("root_path", "").rstrip("/")
    for candidate in (announced, root):
        if candidate and PREFIX.fullmatch(candidate):
            return str(candidate)
    return ""


class TokenError(ValueError):
    """The access token cannot be used; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address of this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(token_file: str | None, env: MutableMapping[str, str] | None = None) -> str | None:
    """The configured access token: the file's first line (``--token-file``), else
    ``ORCHESTRATOR_SERVE_TOKEN``, else None."""
    environ = os.environ if env is None else env
    if token_file:
        try:
            text = Path(token_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenError(f"--token-file {token_file}: cannot be read ({exc.strerror or exc})") from None
        token, where = (text.splitlines() or [""])[0].strip(), f"--token-file {token_file}"
    elif environ.get(TOKEN_ENV):
        token, where = environ[TOKEN_ENV].strip(), TOKEN_ENV
    else:
        return None
    if len(token) < SHORTEST_TOKEN:
        raise TokenError(f"{where}: the access token must be at least {SHORTEST_TOKEN} characters "
                         "(e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return token


class Guard:
    """The ASGI middleware that applies the rules above, in front of every route."""

    def __init__(self, app: ASGIApp, token: str | None = None, hosts: frozenset[str] = LOOPBACK_NAMES) -> None:
        self.app, self.token, self.hosts = app, token, hosts
        self.session = None if token is None else hmac.new(token.encode(), b"orchestrator serve session", hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        request = Request(scope)
        refused = self._refusal(request)
        if refused is not None:
            await refused(scope, receive, send)
            return
        api = request.url.path.startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                from starlette.datastructures import MutableHeaders

                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if api:
                    headers.setdefault("Cache-Control", "no-store")
                    headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refusal(self, request: Any) -> Any:
        """The answer that refuses the request, or None when it may go on."""
        from starlette.responses import RedirectResponse

        host = _host_name(request.headers.get("host") or "")
        if self.token is None and host not in self.hosts:
            return _error(403, f"this server answers requests to {', '.join(sorted(self.hosts))} only (the Host header "
                               f"says {host!r}); configure an access token to serve other names")
        if self.token is not None:
            given = request.query_params.get("token") if request.method in ("GET", "HEAD") else None
            if given is not None:  # a browser's login: the token leaves the address at once
                if not hmac.compare_digest(given.encode(), self.token.encode()):
                    return _error(401, "the token in ?token= is not this server's access token")
                kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
                below = forwarded_prefix(request)
                target = below + request.url.path + (f"?{kept}" if kept else "")
                response = RedirectResponse(target, status_code=303)
                response.set_cookie(COOKIE, self.session or "", httponly=True, samesite="strict", path=below or "/",
                                    secure=request.url.scheme == "https")
                return response
            if not self._authenticated(request):
                response = _error(401, "an access token is needed: send 'Authorization: Bearer TOKEN', or open any page "
                                       "once with ?token=TOKEN to get a session cookie")
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        if request.method not in _SAFE_METHODS:
            origin = request.headers.get("origin")
            # the site a page came from, against the address it was asked for (as the proxy in
            # front got it, when there is one); a browser lets no page of another site set either
            ours = {request.headers.get("host"), request.headers.get("x-forwarded-host")} - {None}
            if request.headers.get("sec-fetch-site") == "cross-site" or (origin and urlsplit(origin).netloc not in ours):
                return _error(403, f"a cross-site {request.method} is refused (Origin {origin!r}); call the API from its own pages or without a browser")
            if request.headers.get(CSRF_HEADER) != "1":
                return _error(403, f"a {request.method} needs the header 'X-Orchestrator-Request: 1' (what protects the "
                                   "actions from cross-site requests); add it to the request")
        return None

    def _authenticated(self, request: Any) -> bool:
        assert self.token is not None and self.session is not None
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer ") and hmac.compare_digest(bearer[7:].strip().encode(), self.token.encode()):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session.encode())


def _host_name(header: str) -> str:
    """The name a Host header gives, without its port (``[::1]:8765`` is ``[::1]``)."""
    if header.startswith("["):
        return header.split("]")[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _error(status: int, message: str) -> Any:
    from starlette.responses import Response

    return Response(dumps({"error": message}), status_code=status, media_type="application/json")
