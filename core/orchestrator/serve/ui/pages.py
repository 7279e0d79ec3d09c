"""The UI's routes: one HTML shell for every page, and the static files it loads.

Each page is the same shell; its script reads the address and renders the page from the API. The
shell carries a strict Content-Security-Policy: scripts only from this server (no inline script,
no ``eval``), styles only from its stylesheet, connections only back to it. With Preact escaping
every text it renders, a pipeline named ``<img src=x onerror=alert(1)>`` stays text.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.serve.api.security import forwarded_prefix

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute
    from starlette.types import Scope

__all__ = ["CSP", "PAGES", "routes"]

STATIC = Path(__file__).resolve().parent / "static"

#: the addresses of the pages (the script picks the page from the address)
PAGES = ("/", "/runs", "/runs/{run_id}", "/runs/{run_id}/config", "/runs/{run_id}/diff/{other}", "/plugins")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

def routes() -> list[BaseRoute]:
    """The page routes and ``/static``, for the app of :mod:`orchestrator.serve.web`."""
    from starlette.responses import Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    shell = (STATIC / "shell.html").read_text(encoding="utf-8")

    async def page(request: Request) -> Response:
        body = shell.replace("{root}", html.escape(forwarded_prefix(request), quote=True))
        return Response(body, media_type="text/html; charset=utf-8", headers=HEADERS)

    class Static(StaticFiles):
        """Static files that say what they are (``nosniff``), and that a browser revalidates before
        using a cached copy (its ETag makes that cheap): after an upgrade no page runs old scripts."""

        def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200) -> Response:
            response = super().file_response(full_path, stat_result, scope, status_code)
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Cache-Control"] = "no-cache"
            return response

    return [*(Route(path, page) for path in PAGES), Mount("/static", app=Static(directory=STATIC), name="static")]
