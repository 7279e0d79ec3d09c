"""The HTTP side of ``orchestrator serve``: a Starlette app served by uvicorn in a thread of the
same process. It has two read-only JSON endpoints for now (health for probes, the schedules);
the web UI adds its pages to :func:`app`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from orchestrator.serve.server import Server

__all__ = ["HttpServer", "app"]


def app(server: Server) -> Starlette:
    """The ASGI app; every endpoint reads what ``server`` holds, and changes nothing."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from orchestrator.serve.listing import rows

    async def health(_request: Request) -> JSONResponse:
        holding = any(store.lease is not None for store in list(server.stores.values()))
        return JSONResponse({
            "status": "ok", "holder": server.holder, "lease": holding, "files": len(server.served),
            "running": len(server.running), "started_at": server.started_at.isoformat(),
        })

    async def schedules(_request: Request) -> JSONResponse:
        found = await run_in_threadpool(rows, list(server.served.values()))
        return JSONResponse(found)

    from orchestrator.serve.ui.pages import routes as ui_routes

    return Starlette(routes=[Route("/api/health", health), Route("/api/schedules", schedules), *ui_routes()])


class HttpServer:
    """uvicorn in a daemon thread; :attr:`port` is the bound one (``--port 0`` picks a free one)."""

    def __init__(self, server: Server, host: str, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(app(server), host=host, port=port, log_level="warning", lifespan="off")
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
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
