"""The worker's health-check HTTP server (for load balancers and Kubernetes probes).

``GET /`` answers ``200 OK`` while the worker runs (``503`` once it drains, so a readiness probe
takes it out of rotation); ``GET /worker`` answers JSON: id, load, jobs, draining.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from ._server import AgentServer

__all__ = ["serve_health"]

logger = logging.getLogger("voicegraph.worker")


async def serve_health(server: AgentServer) -> None:
    """Serve until cancelled on ``server.options.http_host:http_port`` (0: any free port)."""
    from aiohttp import web

    async def health(request: web.Request) -> web.Response:
        if server.draining:
            return web.Response(status=503, text="draining")
        return web.Response(text="OK")

    async def worker(request: web.Request) -> web.Response:
        body = {
            "id": server.id,
            "agent_name": server.options.agent_name,
            "load": server.load,
            "load_threshold": server.options.load_threshold,
            "draining": server.draining,
            "jobs": [{"id": j.id, "room": j.room} for j in server.active_jobs],
        }
        return web.Response(text=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_get("/", health)
    app.router.add_get("/worker", worker)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, server.options.http_host or None, server.options.http_port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        server.http_port = sockets[0].getsockname()[1] if sockets else server.options.http_port
        logger.info("health check on http://%s:%s/", server.options.http_host or "0.0.0.0",
                    server.http_port)  # fmt: skip
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await runner.cleanup()
