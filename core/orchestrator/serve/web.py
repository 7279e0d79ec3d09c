"""The HTTP side of ``orchestrator serve``: a Starlette app served by uvicorn in a thread of the
same process. This module only puts it together: health for probes and the schedules here, the
JSON API from :mod:`orchestrator.serve.api`, the pages beside it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from orchestrator.serve.api import Catalog
    from orchestrator.serve.server import Server

__all__ = ["HttpServer", "app"]


def app(server: Server, catalog: Catalog | None = None, token: str | None = None, host: str = "127.0.0.1") -> Starlette:
    """The ASGI app; every endpoint reads what ``server`` holds (through ``catalog``), and only the
    API's actions change anything. Every request passes :class:`~orchestrator.serve.api.security.Guard`
    first (the access ``token``, when there is one; the Host header; cross-site requests)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from orchestrator.serve import api
    from orchestrator.serve.api.security import LOOPBACK_NAMES, Guard
    from orchestrator.serve.listing import rows
    from orchestrator.serve.ui.pages import routes as ui_routes

    catalog = catalog or api.Catalog(server)

    async def health(_request: Request) -> JSONResponse:
        holding = any(store.lease is not None for store in list(server.stores.values()))
        return JSONResponse({
            "status": "ok", "holder": server.holder, "lease": holding, "files": len(server.served),
            "running": len(server.running), "started_at": server.started_at.isoformat(),
        })

    async def schedules(_request: Request) -> JSONResponse:
        found = await run_in_threadpool(rows, list(server.served.values()))
        return JSONResponse(found)

    return Starlette(
        routes=[
            Route("/api/health", health), Route("/api/schedules", schedules), *api.routes(catalog),
            Route("/metrics", server.metrics.endpoint), *ui_routes(),
        ],
        exception_handlers=api.error_handlers(catalog),
        middleware=[Middleware(Guard, token=token, hosts=LOOPBACK_NAMES | {host})],
    )


class HttpServer:
    """uvicorn in a daemon thread; :attr:`port` is the bound one (``--port 0`` picks a free one)."""

    def __init__(self, server: Server, host: str, port: int, token: str | None = None) -> None:
        import uvicorn

        from orchestrator.serve.api import Catalog

        self.catalog = Catalog(server, token)
        # open event streams are closed at once on stop: they would hold the shutdown forever
        config = uvicorn.Config(app(server, self.catalog, token, host), host=host, port=port, log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=1)
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, name="http", daemon=True)
        self.host = host
        self.port = port

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        waited = 0.0
        while not self._uvicorn.started and self._thread.is_alive() and waited < timeout:
            threading.Event().wait(0.02)
            waited += 0.02
        if not self._uvicorn.started:
            raise OSError(f"the HTTP server could not listen on {self.host}:{self.port}")
        sockets: list[Any] = [s for server in self._uvicorn.servers for s in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        self.catalog.server.hub.close()  # event streams end with a last message, not a cut connection
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
        self.catalog.close()
