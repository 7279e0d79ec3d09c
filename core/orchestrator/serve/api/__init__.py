"""The JSON API of ``orchestrator serve`` (``/api/...``), one module per concern: the files and
pipelines served (:mod:`.pipelines`), runs (:mod:`.runs`, :mod:`.run_parts`), live event streams
(:mod:`.live`), actions (:mod:`.actions`), the security rules every request passes
(:mod:`.security`) and the OpenAPI document (:mod:`.openapi`). :mod:`orchestrator.serve.web`
puts them together with the pages. Imported only by ``orchestrator serve``: Starlette is loaded here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orchestrator.serve.api.responses import ApiError, reply
from orchestrator.serve.api.served import Catalog

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

__all__ = ["Catalog", "routes"]


def routes(catalog: Catalog) -> list[BaseRoute]:
    """Every route of the API, reading (and, for the actions, changing) what ``catalog`` holds."""
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route

    from orchestrator.serve.api import actions, live, openapi, pipelines, run_parts, runs

    hub = catalog.server.hub

    def answer(read: Callable[[Request], Any]) -> Callable[[Request], Response]:
        """A synchronous endpoint (Starlette runs it in its thread pool: the history is read with
        blocking drivers) whose answer goes out as redacted JSON."""

        def endpoint(request: Request) -> Response:
            return reply(read(request), catalog.redactor())

        return endpoint

    def param(request: Request, name: str) -> str:
        return str(request.path_params[name])

    def act(do: Callable[[Request, Any], Any], status: int = 202) -> Callable[[Request], Any]:
        """A POST action: its JSON body read, the action done in the thread pool, JSON back."""

        async def endpoint(request: Request) -> Response:
            body = await _body(request)
            return reply(await run_in_threadpool(do, request, body), catalog.redactor(), status)

        return endpoint

    async def run_events(request: Request) -> Response:
        return await live.run_events(catalog, request)

    async def all_events(request: Request) -> Response:
        return await live.all_events(catalog, request)

    return [
        Route("/api/events", all_events),
        Route("/api/runs/{run_id}/events", run_events),
        Route("/api/openapi.json", answer(lambda r: openapi.document())),
        Route("/api/files", answer(lambda r: pipelines.files(catalog))),
        Route("/api/pipelines", answer(lambda r: pipelines.pipelines(catalog, r))),
        Route("/api/plugins", answer(lambda r: pipelines.plugins(catalog))),
        Route("/api/runs", answer(lambda r: runs.run_page(catalog, r))),
        Route("/api/runs/{run_id}", answer(lambda r: runs.run_detail(catalog, hub, param(r, "run_id"), r))),
        Route("/api/runs/{run_id}/pipelines/{pipeline}", answer(lambda r: runs.run_pipeline(catalog, param(r, "run_id"), param(r, "pipeline")))),
        Route("/api/runs/{run_id}/logs", answer(lambda r: run_parts.logs(catalog, hub, r, param(r, "run_id")))),
        Route("/api/runs/{run_id}/dead-letters", answer(lambda r: run_parts.dead_letters(catalog, hub, r, param(r, "run_id")))),
        Route("/api/runs/{run_id}/config", answer(lambda r: run_parts.config(catalog, param(r, "run_id")))),
        Route("/api/runs/{a}/diff/{b}", answer(lambda r: run_parts.diff(catalog, param(r, "a"), param(r, "b")))),
        Route("/api/pipelines/{file}/{pipeline}/runs", methods=["POST"],
              endpoint=act(lambda r, body: actions.start(catalog, param(r, "file"), param(r, "pipeline"), body))),
        Route("/api/runs/{run_id}/resume", methods=["POST"], endpoint=act(lambda r, _: actions.resume(catalog, param(r, "run_id")))),
        Route("/api/runs/{run_id}/cancel", methods=["POST"], endpoint=act(lambda r, _: actions.cancel(catalog, param(r, "run_id")))),
        Route("/api/runs/{run_id}/replay-dead-letters", methods=["POST"],
              endpoint=act(lambda r, _: actions.replay(catalog, param(r, "run_id")))),
        Route("/api/schedules/{file}/{pipeline}/pause", methods=["POST"],
              endpoint=act(lambda r, _: actions.pause(catalog, param(r, "file"), param(r, "pipeline"), True), 200)),
        Route("/api/schedules/{file}/{pipeline}/unpause", methods=["POST"],
              endpoint=act(lambda r, _: actions.pause(catalog, param(r, "file"), param(r, "pipeline"), False), 200)),
    ]


#: the largest request body an action reads
MAX_BODY = 1_000_000


async def _body(request: Request) -> Any:
    """A POST's JSON body ({} when empty), or a 400."""
    import json

    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY:,} bytes")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"the body is not JSON ({exc}); send a JSON object, e.g. {{\"params\": {{}}}}") from None


def error_handlers(catalog: Catalog) -> dict[Any, Callable[..., Any]]:
    """Errors as JSON ``{"error": ...}``: the API's own, and Starlette's (no such route, method)."""
    from starlette.exceptions import HTTPException

    def api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return reply({"error": exc.message}, catalog.redactor(), exc.status)

    def http_error(request: Request, exc: Exception) -> Response:
        from orchestrator.serve.api.security import forwarded_prefix

        assert isinstance(exc, HTTPException)
        path = forwarded_prefix(request) + request.url.path  # the address as the client sent it, behind a proxy too
        message = {404: f"no such route: {path}; GET /api/openapi.json lists them",
                   405: f"{request.method} is not allowed on {path}"}.get(exc.status_code, str(exc.detail))
        return reply({"error": message}, catalog.redactor(), exc.status_code)

    return {ApiError: api_error, HTTPException: http_error}
