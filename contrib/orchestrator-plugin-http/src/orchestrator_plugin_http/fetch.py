"""One GET with retries, pacing and clean failures: the only module that uses httpx.

Every failure leaves here as a :class:`~orchestrator.errors.StepError` of one line that names the
request by :func:`~orchestrator_plugin_http.safety.public_url` (no query, no credentials), says what
went wrong and what to do; header values never appear in it.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from orchestrator.errors import StepError

from orchestrator_plugin_http import __version__
from orchestrator_plugin_http.limits import RateLimiter, RetryPolicy, parse_retry_after, should_retry
from orchestrator_plugin_http.pagination import Request
from orchestrator_plugin_http.schema import HEADER_NAME_PATTERN
from orchestrator_plugin_http.safety import Scrubber, masked_headers, one_line, public_url

USER_AGENT = f"orchestrator-plugin-http/{__version__}"
DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}
_HEADER_NAME = re.compile(HEADER_NAME_PATTERN)
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]


@dataclass(frozen=True, slots=True)
class Response:
    """A successful response, parsed: the JSON body and the ``Link`` header's relations."""

    status: int
    body: Any
    links: Mapping[str, str]


def open_client(headers: Mapping[str, str], timeout: float) -> httpx.AsyncClient:
    """An httpx client sending ``headers`` with every request. Headers are checked first, so a bad
    one fails the step by its name, before any request, and without showing its value."""
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise StepError(f"headers: {name!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)")
        if not _HEADER_VALUE.fullmatch(value):
            raise StepError(f"headers: the value of {name!r} is not valid in a header (it must be printable ASCII on one line; value hidden)")
    given = {name.lower() for name in headers}
    defaults = {name: value for name, value in DEFAULT_HEADERS.items() if name.lower() not in given}
    merged = {**defaults, **headers}
    return httpx.AsyncClient(headers=merged, timeout=timeout, follow_redirects=True)


class Fetcher:
    """Performs GETs for one step: paced by its rate limiter, retried by its policy."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        headers: Mapping[str, str],
        timeout: float,
        limiter: RateLimiter,
        policy: RetryPolicy,
        scrub: Scrubber,
        logger: Logger,
    ) -> None:
        self.client = client
        self.headers = headers
        self.timeout = timeout
        self.limiter = limiter
        self.policy = policy
        self.scrub = scrub
        self.logger = logger

    async def get(self, request: Request) -> Response:
        """GET ``request`` and parse its JSON, trying again on 429, 5xx, timeouts and connection
        errors; raise :class:`StepError` when it cannot succeed."""
        shown = request.shown
        attempts = self.policy.attempts
        for attempt in range(1, attempts + 1):
            await self.limiter.wait()
            try:
                response = await self.client.get(_full_url(request))
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
                raise StepError(f"GET {shown}: invalid request ({self._reason(exc)}); check url, params and headers") from None
            except httpx.TimeoutException:
                problem, retry_after = f"no response within {self.timeout:g}s (timeout)", None
                advice = "raise timeout, or check that the server is up"
            except httpx.TransportError as exc:
                problem, retry_after = f"cannot connect ({self._reason(exc)})", None
                advice = "check the host and port in url, and that the server is up"
            else:
                self.logger.debug("GET %s -> %s", shown, response.status_code)
                if response.is_success:
                    return Response(response.status_code, self._json(response, shown), _links(response))
                if not should_retry(response.status_code):
                    raise StepError(f"GET {shown}: {self._status_message(response)}") from None
                problem = _status(response)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                advice = "lower rate_limit, or raise retry.attempts" if response.status_code == 429 else "the server is failing: try again later, or raise retry.attempts"
            if attempt == attempts:
                tries = f" after {attempts} tries" if attempts > 1 else ""
                raise StepError(f"GET {shown}: {problem}{tries}; {advice}")
            if retry_after is not None and retry_after > self.policy.max_backoff:
                raise StepError(
                    f"GET {shown}: {problem}; the server asked to wait {retry_after:.0f}s (Retry-After), "
                    f"longer than retry.max_backoff ({self.policy.max_backoff:g}s): try again later, or raise retry.max_backoff"
                )
            delay = retry_after if retry_after is not None else self.policy.delay(attempt)
            self.logger.warning("GET %s -> %s; retrying in %.1fs (try %d of %d)", shown, problem, delay, attempt + 1, attempts)
            await anyio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _json(self, response: httpx.Response, shown: str) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            start = repr(self.scrub(one_line(response.text, 40))) if response.content else "an empty body"
            raise StepError(
                f"GET {shown}: the response is not valid JSON ({kind}: {start}); check that url is the API's JSON endpoint"
            ) from None

    def _status_message(self, response: httpx.Response) -> str:
        status = _status(response)
        code = response.status_code
        if code == 401:
            return f"{status}: the credentials were refused (headers sent: {masked_headers(self.headers)}); check the token or key in headers"
        if code == 403:
            return f"{status}: the credentials lack permission for this resource (headers sent: {masked_headers(self.headers)}); check the token's scopes"
        if code in (404, 410):
            return f"{status}; check url (and the pagination parameters)"
        detail = self.scrub(one_line(response.text, 120)) if response.content else ""
        said = f" ({detail})" if detail else ""
        return f"{status}{said}; check url, params and headers"

    def _reason(self, exc: BaseException) -> str:
        """What went wrong underneath, in a few words: the root cause in the exception chain
        (httpx reports a refused connection as "All connection attempts failed")."""
        root: BaseException | None = exc
        seen = set()
        while root is not None and id(root) not in seen:
            seen.add(id(root))
            if isinstance(root, ConnectionRefusedError):
                return "connection refused"
            if isinstance(root, socket.gaierror):
                return "unknown host"
            root = root.__cause__ or root.__context__
        text = _URL.sub(lambda m: public_url(m.group(0)), str(exc))
        return self.scrub(one_line(text, 120)) or type(exc).__name__


def _full_url(request: Request) -> httpx.URL:
    """The URL with ``params`` merged into the query it already has (httpx's own ``params=``
    would replace that query, dropping the parameters of a next link or of the url as written)."""
    url = httpx.URL(request.url)
    return url.copy_merge_params(dict(request.params)) if request.params else url


def _status(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def _links(response: httpx.Response) -> dict[str, str]:
    return {str(rel): str(link["url"]) for rel, link in response.links.items() if "url" in link}
