"""The pure parts on their own: what of a request may be shown, dotted paths, and which request
comes next (including the guards against APIs that would make the step loop forever)."""

from __future__ import annotations

import pytest

from orchestrator_plugin_http.pagination import Page, PaginationError, Request, paginator
from orchestrator_plugin_http.paths import PathMissing, find, lookup
from orchestrator_plugin_http.safety import Scrubber, masked_headers, one_line, public_url


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://api.example.com/v1/orders", "https://api.example.com/v1/orders"),
        ("https://api.example.com/v1/orders?api_key=abc#frag", "https://api.example.com/v1/orders?..."),
        ("https://user:pa55word@api.example.com:8443/v1", "https://api.example.com:8443/v1"),
        ("http://[::1]:8080/x?token=t", "http://[::1]:8080/x?..."),
        ("http://host:notaport/x", "<invalid url>"),
    ],
)
def test_public_url_drops_credentials_query_and_fragment(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_params_are_announced_but_never_shown() -> None:
    assert Request("https://api.example.com/v1", {"key": "k"}).shown == "https://api.example.com/v1?..."
    assert Request("https://api.example.com/v1").shown == "https://api.example.com/v1"


def test_headers_are_listed_by_name_only() -> None:
    assert masked_headers({"Authorization": "Bearer abc", "X-Key": "k"}) == "Authorization=***, X-Key=***"
    assert masked_headers({}) == "none"


def test_the_scrubber_hides_header_values_their_tokens_and_query_values() -> None:
    scrub = Scrubber.for_request({"Authorization": "Bearer tok-0123456789"}, {"api_key": "key-4242", "page": 2})
    text = 'refused "Bearer tok-0123456789"; token tok-0123456789; key key-4242; page 2'
    assert scrub(text) == 'refused "***"; token ***; key ***; page 2'


def test_one_line_flattens_and_cuts() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 50, 10) == "xxxxxxx..."


def test_lookup_walks_objects_and_list_indexes() -> None:
    body = {"data": {"items": [{"id": 1}], "rows": [[1, 2]]}}
    assert lookup(body, "data.items") == [{"id": 1}]
    assert lookup(body, "data.rows.0.1") == 2
    assert find(body, "data.next") is None
    with pytest.raises(PathMissing, match=r"'data.list' is not in the response \(at 'data' is an object with keys: items, rows\)"):
        lookup(body, "data.list")
    with pytest.raises(PathMissing, match=r"at 'data.items' is a list of 1"):
        lookup(body, "data.items.5")


def test_page_numbers_and_offsets() -> None:
    pages = paginator("http://a/x", {"q": 1}, {"style": "page", "start": 0, "size_param": "n", "size": 50})
    first = pages.first()
    assert first.params == {"q": 1, "page": 0, "n": 50}
    assert pages.next(first, Page([], {}, 50)) == Request("http://a/x", {"q": 1, "page": 1, "n": 50})

    offsets = paginator("http://a/x", {}, {"style": "offset", "limit": 100, "offset_param": "skip", "limit_param": "take"})
    start = offsets.first()
    assert start.params == {"skip": 0, "take": 100}
    assert offsets.next(start, Page([], {}, 40)).params == {"skip": 40, "take": 100}  # type: ignore[union-attr]


def test_cursor_ends_on_a_missing_or_empty_cursor_and_refuses_a_repeated_one() -> None:
    pages = paginator("http://a/x", {}, {"style": "cursor", "cursor_path": "next"})
    first = pages.first()
    assert pages.next(first, Page({"next": None}, {}, 1)) is None
    assert pages.next(first, Page({"next": ""}, {}, 1)) is None
    assert pages.next(first, Page({}, {}, 1)) is None
    second = pages.next(first, Page({"next": 42}, {}, 1))
    assert second == Request("http://a/x", {"cursor": "42"})
    with pytest.raises(PaginationError, match="returned the cursor it was sent"):
        pages.next(second, Page({"next": 42}, {}, 1))  # type: ignore[arg-type]
    with pytest.raises(PaginationError, match="is a JSON object, not a value"):
        pages.next(first, Page({"next": {"id": 1}}, {}, 1))


def test_next_links_resolve_relative_urls_and_refuse_a_loop() -> None:
    pages = paginator("http://a/v1/items", {"per_page": 3}, {"style": "next_link", "next_path": "links.next"})
    first = pages.first()
    second = pages.next(first, Page({"links": {"next": "/v1/items?p=2"}}, {}, 3))
    assert second == Request("http://a/v1/items?p=2", {})  # the link carries its own query
    with pytest.raises(PaginationError, match="points to the page just read"):
        pages.next(second, Page({"links": {"next": "?p=2"}}, {}, 3))  # type: ignore[arg-type]

    by_header = paginator("http://a/v1/items", {}, {"style": "next_link"})
    assert by_header.next(by_header.first(), Page([1], {"next": "http://b/p2"}, 1)) == Request("http://b/p2", {})
    assert by_header.next(by_header.first(), Page([1], {"first": "http://b/p1"}, 1)) is None
