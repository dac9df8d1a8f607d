"""The playground's web server (aiohttp): the page, its static files and one WebSocket per
session (see :mod:`._protocol` for the messages).

Every WebSocket is an independent session with its own graph and runner
(:class:`SessionBridge`); closing the tab ends the session and drops every reference to it.
A second connection to a live session id is refused (close code ``4409``). Bad input closes
only the offending socket. On an address other than loopback the page and the WebSocket
need the server's token (``?token=...``; the static files are public).
"""

from __future__ import annotations

import hmac
import logging
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import anyio
from aiohttp import WSMsgType, web

from voicegraph.runner.worker import AgentServer

from ._bridge import SessionBridge
from ._protocol import (
    CLOSE_BAD_MESSAGE,
    CLOSE_BUSY,
    CLOSE_ENDED,
    MAX_MESSAGE_BYTES,
    OUTPUT_SAMPLE_RATE,
    ProtocolError,
    Start,
    check_frame,
    event,
    parse_text,
)

__all__ = ["START_TIMEOUT", "PlaygroundServer", "static_folder"]

logger = logging.getLogger("voicegraph.playground")

START_TIMEOUT = 10.0
"""Seconds a new socket has to send its ``start`` message."""
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def static_folder() -> Path:
    """The folder of the page's files (shipped in the wheel)."""
    return Path(str(files("voicegraph.playground").joinpath("static")))


class PlaygroundServer:
    """The playground's aiohttp application around one agent.

    Args:
        server: the agent every session runs.
        token: required on the page and the WebSocket when set (``None``: no check).

    Attributes:
        sessions: the live sessions by id (a closed session is removed at once).
    """

    def __init__(self, server: AgentServer, *, token: str | None = None) -> None:
        self.server = server
        self.token = token
        self.sessions: dict[str, SessionBridge | None] = {}
        self.app = web.Application(middlewares=[self._check_token])
        self.app.router.add_get("/", self._index)
        self.app.router.add_get("/ws", self._websocket)
        self.app.router.add_static("/static/", static_folder())
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (``0``: a free port); return the port."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        return int(self._runner.addresses[0][1])

    async def close(self) -> None:
        """End every session and stop listening."""
        for bridge in list(self.sessions.values()):
            if bridge is not None:
                bridge.end("the playground server stopped")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ HTTP

    @web.middleware
    async def _check_token(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.token is not None and not request.path.startswith("/static/"):
            given = request.query.get("token", "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                raise web.HTTPUnauthorized(
                    text="this playground needs its token: open the URL it printed (…/?token=...)\n"
                )
        response: web.StreamResponse = await handler(request)
        return response

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(static_folder() / "index.html")

    # ------------------------------------------------------------------ WebSocket

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        session_id = request.query.get("session", "")
        if not _SESSION_ID.match(session_id):
            raise web.HTTPBadRequest(
                text="give the session id as ?session=<1-64 letters, digits, - or _>\n"
            )
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=30.0)
        await ws.prepare(request)
        if session_id in self.sessions:
            await ws.close(
                code=CLOSE_BUSY,
                message=f"session {session_id} is already open in another connection; "
                "open a new tab for a new session".encode()[:120],
            )
            return ws
        self.sessions[session_id] = None  # reserved until the page sends 'start'
        try:
            await self._serve(ws, session_id)
        except ProtocolError as exc:
            logger.info("playground session %s: %s", session_id, exc.reason)
            await ws.close(code=exc.code, message=exc.reason.encode())
        finally:
            del self.sessions[session_id]
        return ws

    async def _serve(self, ws: web.WebSocketResponse, session_id: str) -> None:
        start = await self._first_message(ws)
        if start is None:
            return

        async def send(message: str | bytes) -> None:
            if ws.closed:
                return
            if isinstance(message, bytes):
                await ws.send_bytes(message)
            else:
                await ws.send_str(message)

        bridge = SessionBridge(self.server, session_id, send, start.sample_rate)
        self.sessions[session_id] = bridge
        await ws.send_str(event("ready", session=session_id, sample_rate=OUTPUT_SAMPLE_RATE))
        failure: list[ProtocolError] = []

        async def read() -> None:
            try:
                await self._read_audio(ws, bridge, start)
            except ProtocolError as exc:
                failure.append(exc)
            bridge.end("the page closed the session" if not failure else failure[0].reason)

        outcome: list[tuple[str, str]] = []

        async def run() -> None:  # a task of its own: the job's context stays in it
            outcome.append(await bridge.run())
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            tg.start_soon(run)
        status, error = outcome[0] if outcome else ("failed", "cancelled")
        if failure:
            raise failure[0]
        if not ws.closed:
            reason = "the session ended" if status == "success" else f"the agent failed: {error}"
            await ws.close(code=CLOSE_ENDED, message=reason.encode()[:120])

    async def _first_message(self, ws: web.WebSocketResponse) -> Start | None:
        with anyio.move_on_after(START_TIMEOUT):
            message = await ws.receive()
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return None
            if message.type != WSMsgType.TEXT:
                raise ProtocolError(CLOSE_BAD_MESSAGE, _not_allowed(message))
            start = parse_text(message.data, started=False)
            if start is None:
                raise ProtocolError(CLOSE_BAD_MESSAGE, "send 'start' first")
            return start
        raise ProtocolError(CLOSE_BAD_MESSAGE, f"no 'start' message within {START_TIMEOUT:.0f} s")

    async def _read_audio(
        self, ws: web.WebSocketResponse, bridge: SessionBridge, start: Start
    ) -> None:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                check_frame(message.data, start)
                await bridge.feed(message.data)
            elif message.type == WSMsgType.TEXT:
                parse_text(message.data, started=True)
            else:
                raise ProtocolError(CLOSE_BAD_MESSAGE, _not_allowed(message))


def _not_allowed(message: Any) -> str:
    if message.type == WSMsgType.ERROR:
        return f"bad message: {message.data}"
    return "send a 'start' JSON text message first, then binary PCM frames"
