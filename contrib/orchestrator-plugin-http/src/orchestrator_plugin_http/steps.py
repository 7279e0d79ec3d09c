"""The ``http.get`` extract step: GET a JSON API page by page, one batch of records per page.

An async generator, so the engine streams it: each page is handed to the transforms and loads
before the next one is requested, and a slow load holds back further requests (back-pressure)
instead of letting pages pile up in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from orchestrator.context import StepContext
from orchestrator.errors import StepError

from orchestrator_plugin_http.fetch import Fetcher, open_client
from orchestrator_plugin_http.limits import RateLimiter, RetryPolicy
from orchestrator_plugin_http.pagination import Page, PaginationError, Request, paginator
from orchestrator_plugin_http.paths import PathMissing, json_kind, lookup
from orchestrator_plugin_http.safety import Scrubber


async def get(
    ctx: StepContext,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
    records: str | None = None,
    pagination: Mapping[str, Any] | None = None,
    rate_limit: float | None = None,
    retry: Mapping[str, Any] | None = None,
) -> AsyncIterator[list[Any]]:
    """Yield the records of each page as one batch, until the pages run out.

    The pages end on an empty page, when the pagination style finds no further page (no cursor,
    no next link), or after ``pagination.max_pages`` pages. The arguments are documented in the
    args schema (``orchestrator_plugin_http.schema``) and on the plugin's docs page.
    """
    params = dict(params or {})
    headers = dict(headers or {})
    pages = paginator(url, params, pagination)
    max_pages = (pagination or {}).get("max_pages")
    total = count = 0
    async with open_client(headers, timeout) as client:
        fetcher = Fetcher(
            client,
            headers=headers,
            timeout=timeout,
            limiter=RateLimiter(rate_limit),
            policy=RetryPolicy(**(retry or {})),
            scrub=Scrubber.for_request(headers, params),
            logger=ctx.logger,
        )
        request: Request | None = pages.first()
        while request is not None:
            current = request
            response = await fetcher.get(current)
            count += 1
            batch = page_records(response.body, records, current.shown)
            if not batch:
                break
            total += len(batch)
            yield batch
            if max_pages is not None and count >= max_pages:
                break
            try:
                request = pages.next(current, Page(response.body, response.links, len(batch)))
            except PaginationError as exc:
                raise StepError(f"GET {current.shown}: {exc}") from None
    ctx.logger.info("GET %s: %d records from %d pages", pages.first().shown, total, count)


def page_records(body: Any, records: str | None, shown: str) -> list[Any]:
    """The list of records in one response body: at the ``records`` path, or the body itself.

    A ``null`` there is an empty page (some APIs say "no more" that way); anything else that is
    not a list is a configuration mistake, reported with what the response holds instead.
    """
    where = f"GET {shown}"
    if records is None:
        if isinstance(body, list):
            return body
        if isinstance(body, dict):
            keys = ", ".join(sorted(body)[:10]) or "none"
            raise StepError(f"{where}: the response is a JSON object, not a list (keys: {keys}); set records to the path of the list, e.g. records: {_guess(body)}")
        raise StepError(f"{where}: the response is a JSON {json_kind(body)}, not a list of records; check url")
    try:
        found = lookup(body, records)
    except PathMissing as exc:
        raise StepError(f"{where}: records: {exc}; set records to the dotted path of the list") from None
    if found is None:
        return []
    if not isinstance(found, list):
        raise StepError(f"{where}: records: {records!r} is a JSON {json_kind(found)}, not a list; set records to the dotted path of the list")
    return found


def _guess(body: dict[str, Any]) -> str:
    lists = [key for key, value in body.items() if isinstance(value, list)]
    return lists[0] if lists else "data.items"

