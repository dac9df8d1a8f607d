"""The worker's WebSocket to the LiveKit server (the agent worker protocol).

The worker connects to ``<LIVEKIT_URL>/agent`` with a token carrying the ``agent`` grant and
exchanges binary protobuf messages from ``livekit-protocol``::

    worker -> server  WorkerMessage.register         once, first (type, agent_name, version,
                                                     permissions); answered by
    server -> worker  ServerMessage.register         (worker_id, server_info)
    server -> worker  ServerMessage.availability     a job offer
    worker -> server  WorkerMessage.availability     accept (identity, name, ...) or reject
    server -> worker  ServerMessage.assignment       the accepted job, with URL and room token
    worker -> server  WorkerMessage.update_job       JS_RUNNING, then JS_SUCCESS / JS_FAILED
    server -> worker  ServerMessage.termination      end a job
    worker -> server  WorkerMessage.update_worker    load, status (available/full), job count,
                                                     draining; every update_interval
    worker -> server  WorkerMessage.ping             answered by ServerMessage.pong

A lost connection is retried (``max_retry`` attempts, delays 0, 2, 4 ... 10 s) and the worker
registers again; running jobs are not affected, and their status updates wait in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlparse

import anyio

from voicegraph.graph import ProviderError, first_error

from ._options import Credentials, ServerOptions

if TYPE_CHECKING:
    import aiohttp
    from livekit.protocol import agent

__all__ = ["ConnectionHandler", "WorkerConnection", "agent_url"]

logger = logging.getLogger("voicegraph.worker")

OUTBOX_SIZE = 1024
"""Messages the worker may have waiting to be sent (job updates survive a reconnect)."""
_DROPPED_WHILE_DOWN = ("update_worker", "ping")


class ConnectionHandler(Protocol):
    """What the connection calls for the server's messages (the :class:`AgentServer`)."""

    def register_request(self) -> agent.WorkerMessage: ...
    def on_registered(self, msg: agent.RegisterWorkerResponse) -> None: ...
    def on_availability(self, msg: agent.AvailabilityRequest) -> None: ...
    def on_assignment(self, msg: agent.JobAssignment) -> None: ...
    def on_termination(self, msg: agent.JobTermination) -> None: ...


def agent_url(url: str) -> str:
    """The worker endpoint for a LiveKit URL: ``ws(s)://host[/path]/agent``."""
    parsed = urlparse(url)
    scheme = {"http": "ws", "https": "wss"}.get(parsed.scheme, parsed.scheme)
    return f"{scheme}://{parsed.netloc}{parsed.path.rstrip('/')}/agent"


class _ConnectionLost(Exception):
    pass


class WorkerConnection:
    """Connect, register and keep the worker's WebSocket up; queue and send messages.

    Args:
        creds: the server URL and the API key/secret that sign the worker's token.
        options: the server options (retries, ping interval).
        handler: receives the server's messages.
    """

    def __init__(
        self, creds: Credentials, options: ServerOptions, handler: ConnectionHandler
    ) -> None:
        self.creds = creds
        self.options = options
        self.handler = handler
        self.outbox: asyncio.Queue[agent.WorkerMessage] = asyncio.Queue(OUTBOX_SIZE)
        self.connected = False
        self.connections = 0
        """How many times the worker has registered (1 + reconnects)."""
        self._closing = False
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._inflight: agent.WorkerMessage | None = None
        self._last_pong = 0.0
        self.rtt: float | None = None
        """The last ping round trip, in seconds."""

    # ------------------------------------------------------------------ sending

    async def send(self, msg: agent.WorkerMessage) -> None:
        """Queue ``msg``; load reports and pings are dropped while disconnected."""
        if not self.connected and msg.WhichOneof("message") in _DROPPED_WHILE_DOWN:
            return
        await self.outbox.put(msg)

    def send_nowait(self, msg: agent.WorkerMessage) -> bool:
        """Queue ``msg`` if there is room; ``False`` if the outbox is full."""
        if not self.connected and msg.WhichOneof("message") in _DROPPED_WHILE_DOWN:
            return True
        try:
            self.outbox.put_nowait(msg)
            return True
        except asyncio.QueueFull:
            return False

    async def flush(self, timeout: float) -> bool:
        """Wait until every queued message was sent (at most ``timeout`` s)."""
        with anyio.move_on_after(timeout):
            while self.connected and (not self.outbox.empty() or self._inflight is not None):
                await anyio.sleep(0.01)
            return self.outbox.empty() and self._inflight is None
        return False

    async def aclose(self) -> None:
        """Close the connection; :meth:`run` returns."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()

    # ------------------------------------------------------------------ running

    async def run(self, http: aiohttp.ClientSession) -> None:
        """Connect and serve until :meth:`aclose`, reconnecting on failures.

        Raises:
            ProviderError: the server refused the credentials, or ``max_retry`` attempts
                failed.
        """
        import aiohttp

        url = agent_url(self.creds.url)
        retry = 0
        while not self._closing:
            try:
                ws = await http.ws_connect(
                    url,
                    headers={"Authorization": f"Bearer {self._token()}"},
                    autoping=True,
                    timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                )
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (401, 403):
                    raise ProviderError(
                        "livekit",
                        f"the server at {self.creds.url} rejected the worker's token: check "
                        "LIVEKIT_API_KEY and LIVEKIT_API_SECRET",
                        status=exc.status,
                    ) from None
                error: BaseException = exc
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                error = exc
            else:
                try:
                    await self._serve(ws)
                    error = _ConnectionLost("closed")
                except (_ConnectionLost, aiohttp.ClientError, OSError) as exc:
                    error = exc
                    retry = 0 if self.connected else retry
                finally:
                    self.connected = False
                    self._ws = None
                    await ws.close()
            if self._closing:
                return
            if retry >= self.options.max_retry:
                raise ProviderError(
                    "livekit",
                    f"cannot connect to the LiveKit server at {self.creds.url} after "
                    f"{retry + 1} attempts ({error or type(error).__name__}); check that it "
                    "runs and that LIVEKIT_URL points to it",
                )
            delay = min(retry * 2, 10)
            retry += 1
            logger.warning(
                "worker connection to %s failed (%s); retrying in %d s", url, error, delay
            )
            await anyio.sleep(delay)

    def _token(self) -> str:
        from livekit.api import AccessToken, VideoGrants

        return (
            AccessToken(self.creds.api_key, self.creds.api_secret)
            .with_grants(VideoGrants(agent=True))
            .to_jwt()
        )

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        import aiohttp
        from livekit.protocol import agent

        self._ws = ws
        await ws.send_bytes(self.handler.register_request().SerializeToString())
        first = await ws.receive(timeout=10.0)
        if first.type != aiohttp.WSMsgType.BINARY:
            raise _ConnectionLost(f"expected the register response, got {first.type.name}")
        reply = agent.ServerMessage.FromString(first.data)
        if reply.WhichOneof("message") != "register":
            raise _ConnectionLost("the server's first message was not the register response")
        self.connected = True
        self.connections += 1
        self._last_pong = time.monotonic()
        self.handler.on_registered(reply.register)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._send_loop, ws)
                tg.start_soon(self._ping_loop)
                await self._recv_loop(ws)
                tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:  # one of the loops failed: the connection is lost
            error = first_error(group)
            if error is group:  # no Exception in it (a cancellation): let it through
                raise
            raise _ConnectionLost(str(error)) from group

    async def _recv_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        import aiohttp
        from livekit.protocol import agent

        async for raw in ws:
            if raw.type != aiohttp.WSMsgType.BINARY:
                if raw.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
                logger.warning("unexpected %s message from the LiveKit server", raw.type.name)
                continue
            msg = agent.ServerMessage.FromString(raw.data)
            self._dispatch(msg)
        if not self._closing:
            raise _ConnectionLost("the LiveKit server closed the worker connection")

    def _dispatch(self, msg: agent.ServerMessage) -> None:
        which = msg.WhichOneof("message")
        if which == "availability":
            self.handler.on_availability(msg.availability)
        elif which == "assignment":
            self.handler.on_assignment(msg.assignment)
        elif which == "termination":
            self.handler.on_termination(msg.termination)
        elif which == "pong":
            now = time.monotonic()
            self._last_pong = now
            self.rtt = max(0.0, time.time() - msg.pong.last_timestamp / 1000)
        elif which == "go_away":
            logger.info("the LiveKit server asks the worker to go away: %s", msg.go_away.reason)
        else:
            logger.debug("ignoring server message %s", which)

    async def _send_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            if self._inflight is None:
                self._inflight = await self.outbox.get()
            await ws.send_bytes(self._inflight.SerializeToString())
            self._inflight = None

    async def _ping_loop(self) -> None:
        from livekit.protocol import agent

        interval = self.options.ping_interval
        while True:
            await anyio.sleep(interval)
            if time.monotonic() - self._last_pong > 3 * interval:
                raise _ConnectionLost(f"no pong from the server for {3 * interval:g} s")
            ping = agent.WorkerMessage(ping=agent.WorkerPing(timestamp=int(time.time() * 1000)))
            await self.send(ping)

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<WorkerConnection {self.creds.url} {state}>"
