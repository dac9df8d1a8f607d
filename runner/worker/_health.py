"""The worker's health-check HTTP server (for load balancers and Kubernetes probes).

``GET /`` answers ``200 OK`` while the worker runs (``503`` once it drains, so a readiness probe
takes it out of rotation); ``GET /worker`` answers JSON: id, load, jobs, draining.

The port is bound before the worker registers with LiveKit or starts a job process, and a busy
port is a :class:`ConfigError` (one line: which port, what to do), never a traceback. The worker
does not move to another port by itself when the port is busy, even the default 8081 of
``voicegraph start`` (LiveKit Agents' production default, whose workers fail there too): a probe
configured for 8081 would otherwise reach whatever holds the port (often another worker) and
report this one healthy. Port 0 picks any free port (LiveKit's development default); the port
in use is logged ("health check on http://host:port/") and kept in ``AgentServer.http_port``.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from voicegraph.graph import ConfigError

if TYPE_CHECKING:
    from ._server import AgentServer

__all__ = ["bind_health_socket", "serve_health"]

logger = logging.getLogger("voicegraph.worker")


def bind_health_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` for the health server (port 0: any free port).

    ``host`` ``""`` listens on every interface (IPv6 too, where the system allows it).

    Raises:
        ConfigError: the port is in use, not allowed, or the host is not an address here.
    """
    where = f"{host or '0.0.0.0'}:{port}"
    try:
        if not host and socket.has_dualstack_ipv6():
            return socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
        family, _, _, _, address = socket.getaddrinfo(
            host or "0.0.0.0", port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address[:2], family=family)
    except socket.gaierror as exc:
        raise ConfigError(
            f"cannot listen for health checks on {where}: unknown host {host!r} ({exc.strerror}); "
            "set http_host to an address of this machine, e.g. 0.0.0.0"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"the health-check port {port} is in use ({where}): is another worker running "
                "on this host? Stop it, or pass another port (--http-port N, or "
                "AgentServer(http_port=N); 0 picks any free port)"
            ) from None
        if exc.errno == errno.EACCES:
            raise ConfigError(
                f"not allowed to listen on port {port} ({where}) for health checks: ports below "
                "1024 need privileges; pass a port from 1024 up (--http-port N; 0: any free port)"
            ) from None
        raise ConfigError(
            f"cannot listen for health checks on {where}: {exc.strerror or exc}; check http_host "
            "and the port (--http-port N; 0: any free port)"
        ) from None


async def serve_health(
    server: AgentServer,
    sock: socket.socket,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve health checks on ``sock`` (from :func:`bind_health_socket`) until cancelled."""
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
        await web.SockSite(runner, sock).start()
        port = sock.getsockname()[1]
        logger.info("health check on http://%s:%s/", server.options.http_host or "0.0.0.0", port)
        task_status.started()
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await runner.cleanup()
