"""pipeline-flow's own plugins (1.0.8) and what each becomes here.

- ``rest_api_extractor`` (httpx, GET ``base_url/endpoint``, records under ``data``, the
  ``page_based_pagination`` or ``hateoas_pagination`` helper) is ``http.get`` of
  ``orchestrator-plugin-http``, with ``next_link`` pagination at the helper's path.
- ``sqlalchemy_query_loader`` runs its own SQL once per row; ``sql.write`` writes rows into a table,
  which is not the same statement, so it is kept by name and reported.
- Any other name is a custom or community plugin (or a placeholder of the documentation): kept by
  name and reported, for the user to provide as a plugin of this orchestrator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: pipeline-flow's pagination helpers: the dotted path of the next page's URL
_NEXT_LINK = {
    "page_based_pagination": "pagination.next_page",
    "page_based": "pagination.next_page",
    "hateoas_pagination": "_links.next",
    "hateoas": "_links.next",
}
_REST_ARGS = {"base_url", "endpoint", "headers", "pagination", "pagination_type"}

Tell = Callable[[tuple[str | int, ...], str], None]


def convert_plugin(plugin: str, args: dict[str, Any], tell: Tell) -> tuple[str, dict[str, Any]]:
    """The step's plugin and args in this format; ``tell(path under the step, message)`` reports
    what has no equivalent."""
    if plugin == "rest_api_extractor":
        return "http.get", _rest_api(args, tell)
    if plugin == "sqlalchemy_query_loader":
        tell(("plugin",), (
            "sqlalchemy_query_loader runs its own query once per row, which no step here does: kept by name; "
            "write the rows with sql.write (orchestrator-plugin-sql: url, table, mode) or call your query from a python.call step"
        ))
        return plugin, args
    tell(("plugin",), (
        f"plugin {plugin!r} is not one of pipeline-flow's own, so it has no known equivalent: kept by name; provide it as a "
        "plugin here ('orchestrator new plugin' starts one) or use a step that exists ('orchestrator plugins' lists them)"
    ))
    return plugin, args


def _rest_api(args: dict[str, Any], tell: Tell) -> dict[str, Any]:
    base, endpoint = args.get("base_url", ""), args.get("endpoint", "")
    url = f"{str(base).rstrip('/')}/{str(endpoint).lstrip('/')}" if endpoint else str(base)
    converted: dict[str, Any] = {"url": url}
    if isinstance(args.get("headers"), dict):
        converted["headers"] = {str(k): str(v) for k, v in args["headers"].items()}
    converted["records"] = "data"
    tell(("args",), (
        "rest_api_extractor also took a response that is a list, or one without 'data' as a single record; "
        "http.get reads the records under 'data' (change args.records to match your API)"
    ))
    helper = args.get("pagination")
    style = helper.get("plugin") if isinstance(helper, dict) else args.get("pagination_type", "page_based_pagination")
    next_path = _NEXT_LINK.get(str(style))
    if next_path is None:
        tell(("args", "pagination"), f"pagination helper {style!r} has no equivalent: pages are not followed; set args.pagination of http.get")
    else:
        converted["pagination"] = {"style": "next_link", "next_path": next_path}
        if next_path.startswith("pagination"):
            tell(("args",), "page_based_pagination also stopped when pagination.has_more was false; http.get follows pagination.next_page until it is missing")
        else:
            tell(("args",), "hateoas_pagination also looked under 'links' when '_links' was missing; http.get follows _links.next only")
    for key in sorted(set(args) - _REST_ARGS, key=str):
        tell(("args", str(key)), f"rest_api_extractor has no argument {str(key)!r}; it was left out")
    return converted
