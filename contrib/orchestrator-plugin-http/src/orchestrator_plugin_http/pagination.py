"""Which request comes next, for each pagination style.

Pure functions of the previous request and the response (parsed body and ``Link`` header
relations), without HTTP: the step asks :meth:`Paginator.next` after every page and stops when it
answers ``None``. The stop conditions every style shares (an empty page, ``max_pages``) are the
step's; a style only knows when *it* has run out (no cursor, no next link, a repeated one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from orchestrator_plugin_http.paths import find
from orchestrator_plugin_http.safety import public_url


class PaginationError(ValueError):
    """The API's paging cannot be followed (it would loop forever, or the cursor is not a value)."""


@dataclass(frozen=True, slots=True)
class Request:
    """One GET: the URL and the query parameters to send with it."""

    url: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        """The request as messages may show it: no query values, no credentials."""
        return public_url(self.url, has_params=bool(self.params))


@dataclass(frozen=True, slots=True)
class Page:
    """What a paginator may look at in a response."""

    body: Any
    links: Mapping[str, str]
    count: int


class Paginator:
    """Style ``none``: one request."""

    def __init__(self, url: str, params: Mapping[str, Any], options: Mapping[str, Any]) -> None:
        self.url = url
        self.params = dict(params)
        self.options = options

    def first(self) -> Request:
        """The request for the first page."""
        return Request(self.url, self.params)

    def next(self, request: Request, page: Page) -> Request | None:
        """The request after ``request``, whose response was ``page``; ``None`` when there is none."""
        return None


class PageNumbers(Paginator):
    """Style ``page``: ``?page=1``, ``?page=2``, ... (plus the page size, when configured)."""

    def first(self) -> Request:
        return self._at(int(self.options.get("start", 1)))

    def next(self, request: Request, page: Page) -> Request | None:
        return self._at(int(request.params[self._param]) + 1)

    @property
    def _param(self) -> str:
        return str(self.options.get("page_param", "page"))

    def _at(self, number: int) -> Request:
        params = {**self.params, self._param: number}
        if "size_param" in self.options:
            params[self.options["size_param"]] = self.options["size"]
        return Request(self.url, params)


class Offsets(Paginator):
    """Style ``offset``: ``?offset=0&limit=100``, then the offset moves past the records received
    (not by ``limit``: a server that caps the page size lower than asked would make that skip
    records)."""

    def first(self) -> Request:
        return self._at(int(self.options.get("start", 0)))

    def next(self, request: Request, page: Page) -> Request | None:
        return self._at(int(request.params[self._param]) + page.count)

    @property
    def _param(self) -> str:
        return str(self.options.get("offset_param", "offset"))

    def _at(self, offset: int) -> Request:
        limit_param = str(self.options.get("limit_param", "limit"))
        return Request(self.url, {**self.params, self._param: offset, limit_param: self.options["limit"]})


class Cursors(Paginator):
    """Style ``cursor``: the response names the next page's cursor, sent back as a parameter."""

    def next(self, request: Request, page: Page) -> Request | None:
        path = str(self.options["cursor_path"])
        cursor = find(page.body, path)
        if cursor is None or cursor == "" or cursor is False:
            return None
        if isinstance(cursor, (dict, list)):
            raise PaginationError(f"the cursor at {path!r} is a JSON {'object' if isinstance(cursor, dict) else 'list'}, not a value; check cursor_path")
        param = str(self.options.get("cursor_param", "cursor"))
        value = str(cursor)
        if request.params.get(param) == value:
            raise PaginationError(f"the API returned the cursor it was sent (at {path!r}); stopping instead of looping forever")
        return Request(self.url, {**self.params, param: value})


class NextLinks(Paginator):
    """Style ``next_link``: the next page's full URL, from the body (``next_path``) or from the
    ``Link: <...>; rel="next"`` header. The link carries its own query, so ``params`` are sent
    with the first request only."""

    def next(self, request: Request, page: Page) -> Request | None:
        path = self.options.get("next_path")
        link = find(page.body, str(path)) if path else page.links.get("next")
        if not link:
            return None
        if not isinstance(link, str):
            raise PaginationError(f"the next link at {path!r} is not a URL string; check next_path")
        url = urljoin(request.url, link)
        if url == request.url and not request.params:
            raise PaginationError("the API's next link points to the page just read; stopping instead of looping forever")
        return Request(url, {})


STYLES: dict[str, type[Paginator]] = {
    "none": Paginator,
    "page": PageNumbers,
    "offset": Offsets,
    "cursor": Cursors,
    "next_link": NextLinks,
}


def paginator(url: str, params: Mapping[str, Any], options: Mapping[str, Any] | None) -> Paginator:
    """The paginator for ``options["style"]`` (``none`` when there are no options)."""
    options = options or {"style": "none"}
    return STYLES[str(options.get("style", "none"))](url, params, options)
