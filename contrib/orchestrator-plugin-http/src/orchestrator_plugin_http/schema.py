"""The JSON Schema of ``http.get``'s ``args``.

Plain data, no imports: the orchestrator validates a config against it before anything runs (so a
misspelt argument or a pagination key of the wrong style is reported with its file and line), and
``orchestrator schema`` hands it to editors, which is why every property has a description and an
example.
"""

from __future__ import annotations

from typing import Any

DOTTED_PATH_PATTERN = r"^[^.\s]+(\.[^.\s]+)*$"
HEADER_NAME_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


def _prop(kind: str | list[str], description: str, example: Any, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, "examples": [example], **extra}


def _dotted(description: str, example: str) -> dict[str, Any]:
    return _prop("string", description, example, pattern=DOTTED_PATH_PATTERN)


PARAM_VALUE: dict[str, Any] = {"type": ["string", "number", "boolean"]}

# Keys every pagination style accepts, and the keys that belong to each style. The `then` branches
# below close each style over its own keys, so `cursor_path` under `style: page` is an unknown key.
_COMMON = ("style", "max_pages")
STYLE_KEYS: dict[str, tuple[str, ...]] = {
    "none": ("style",),
    "page": (*_COMMON, "page_param", "start", "size_param", "size"),
    "offset": (*_COMMON, "offset_param", "limit_param", "limit", "start"),
    "cursor": (*_COMMON, "cursor_param", "cursor_path"),
    "next_link": (*_COMMON, "next_path"),
}
STYLE_REQUIRED: dict[str, list[str]] = {"offset": ["limit"], "cursor": ["cursor_path"]}

PAGINATION_PROPERTIES: dict[str, Any] = {
    "style": {
        "description": (
            "How the API splits its results: none (one request), page (a page number parameter), "
            "offset (offset and limit parameters), cursor (a cursor taken from each response and "
            "sent with the next request), next_link (the next page's URL, from the body or the "
            "Link header)."
        ),
        "enum": list(STYLE_KEYS),
        "examples": ["cursor"],
    },
    "max_pages": _prop("integer", "Stop after this many pages (requests that succeeded), even if the API has more.", 10, minimum=1),
    "page_param": _prop("string", "page: the query parameter that carries the page number.", "page", minLength=1, default="page"),
    "start": _prop(
        "integer",
        "page: the first page number (default 1); offset: the first offset (default 0).",
        1,
        minimum=0,
    ),
    "size_param": _prop("string", "page: the query parameter that carries the page size (sent only when set, with size).", "per_page", minLength=1),
    "size": _prop("integer", "page: the page size sent in size_param.", 100, minimum=1),
    "offset_param": _prop("string", "offset: the query parameter that carries the offset.", "offset", minLength=1, default="offset"),
    "limit_param": _prop("string", "offset: the query parameter that carries the page size.", "limit", minLength=1, default="limit"),
    "limit": _prop("integer", "offset: records asked for per request (sent in limit_param); the next offset is this one plus the records received.", 100, minimum=1),
    "cursor_param": _prop("string", "cursor: the query parameter the cursor is sent in.", "cursor", minLength=1, default="cursor"),
    "cursor_path": _dotted("cursor: where the next cursor is in each JSON response (dotted path); no value there ends the pages.", "meta.next_cursor"),
    "next_path": _dotted(
        "next_link: where the next page's URL is in the JSON body (dotted path; may be relative). "
        'Without it, the Link header\'s rel="next" URL is followed.',
        "links.next",
    ),
}


def _style_rule(style: str) -> dict[str, Any]:
    then: dict[str, Any] = {
        # The full property schemas (not `true`), so a missing key's message can quote its description.
        "properties": {key: PAGINATION_PROPERTIES[key] for key in STYLE_KEYS[style]},
        "additionalProperties": False,
    }
    if style in STYLE_REQUIRED:
        then["required"] = STYLE_REQUIRED[style]
    return {"if": {"properties": {"style": {"const": style}}, "required": ["style"]}, "then": then}


def _together(key: str, partner: str) -> dict[str, Any]:
    """``partner`` is required when ``key`` is given (an if/then rather than dependentRequired, so
    the message is "missing required key" with the partner's description)."""
    return {
        "if": {"required": [key]},
        "then": {"required": [partner], "properties": {partner: PAGINATION_PROPERTIES[partner]}},
    }


PAGINATION: dict[str, Any] = {
    "type": "object",
    "description": "How to follow the API's pages. Pages end on an empty page, a missing cursor or next link, or max_pages.",
    "examples": [{"style": "cursor", "cursor_param": "cursor", "cursor_path": "meta.next_cursor", "max_pages": 50}],
    "additionalProperties": False,
    "required": ["style"],
    "properties": PAGINATION_PROPERTIES,
    "allOf": [*(_style_rule(style) for style in STYLE_KEYS), _together("size_param", "size"), _together("size", "size_param")],
}

RETRY: dict[str, Any] = {
    "type": "object",
    "description": (
        "Retrying one request on HTTP 429, HTTP 5xx, a timeout or a connection error: exponential "
        "backoff with jitter, capped at max_backoff; a Retry-After header (seconds or an HTTP date) "
        "is waited for instead."
    ),
    "examples": [{"attempts": 5, "backoff": 0.5, "max_backoff": 30}],
    "additionalProperties": False,
    "properties": {
        "attempts": _prop("integer", "Tries per request, the first included (1 turns retrying off).", 5, minimum=1, maximum=100, default=3),
        "backoff": _prop("number", "Seconds before the second try; doubled for each further try, with jitter.", 0.5, minimum=0, default=1),
        "max_backoff": _prop(
            "number",
            "Longest wait between tries, in seconds. A Retry-After asking for longer fails the step instead of waiting.",
            30,
            minimum=0,
            default=60,
        ),
    },
}

GET_ARGS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "url": _prop(
            "string",
            "The http:// or https:// URL of the first page. Put query parameters in params, so they stay out of messages.",
            "https://api.example.com/v1/orders",
            pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+",
        ),
        "params": _prop(
            "object",
            "Query parameters sent with every request (a list value repeats the parameter). Never shown in logs or errors.",
            {"status": "open", "per_page": 100},
            additionalProperties={"anyOf": [PARAM_VALUE, {"type": "array", "items": PARAM_VALUE}]},
        ),
        "headers": _prop(
            "object",
            "Request headers. Values may come from ${ENV} variables; they are never logged, and shown as *** in errors.",
            {"Authorization": "Bearer ${API_TOKEN}", "Accept": "application/json"},
            additionalProperties={"type": "string"},
            propertyNames={"pattern": HEADER_NAME_PATTERN},
        ),
        "timeout": _prop("number", "Seconds to wait for connecting and for each read before the try counts as failed.", 30, exclusiveMinimum=0, default=30),
        "records": _dotted(
            "Where the list of records is in each JSON response, as a dotted path (digits index a list). "
            "Leave it out when the body itself is the list.",
            "data.items",
        ),
        "pagination": PAGINATION,
        "rate_limit": _prop("number", "At most this many requests per second (retries included).", 5, exclusiveMinimum=0),
        "retry": RETRY,
    },
}
