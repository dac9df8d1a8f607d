"""Loopback servers for wire tests: HTTP/1.1 (streaming, SSE) and WebSocket, TLS on demand.

Everything listens on 127.0.0.1 only. Provider fakes (``fake_gemini``, ``fake_elevenlabs``)
build on these: a *plan* of :class:`Reply` behaviours decides what each request gets, and
every request is recorded (with whether the client hung up mid-stream), so tests assert on
what went over the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import ssl
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


# --------------------------------------------------------------------------- TLS


def make_certificate(folder: Path) -> Path:
    """Write a self-signed certificate (and key) for 127.0.0.1 into ``folder``; return cert path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voicegraph loopback")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path


@dataclass
class TLS:
    """A self-signed certificate: ``server`` context for the fake, ``client`` trusts it."""

    cert: Path

    @property
    def server(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.cert.with_name("key.pem"))
        return ctx

    @property
    def client(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


# --------------------------------------------------------------------------- behaviours


@dataclass
class Reply:
    """What the fake does with one request (or one WebSocket session).

    Attributes:
        status: HTTP status (200 streams ``chunks``; others send ``body`` and close).
        headers: extra response headers (e.g. ``{"Retry-After": "7"}``).
        body: the error body (a dict is sent as JSON).
        chunks: streamed payloads (dicts are JSON-encoded by the fake's framing).
        first_delay: seconds before anything is sent (slow first byte).
        delay: seconds between chunks.
        cut_after: abort the connection (no clean end) after this many chunks.
        hold: after the chunks, keep the stream open until the client hangs up.
        raw: send these bytes as the streamed body instead of framing ``chunks``.
        extra: anything a fake needs (e.g. a WebSocket close code).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    chunks: list[Any] = field(default_factory=list)
    first_delay: float = 0.0
    delay: float = 0.0
    cut_after: int | None = None
    hold: bool = False
    raw: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Request:
    """One recorded HTTP request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)
    sent_chunks: int = 0
    client_closed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the client hung up before the server finished the response."""

    def json(self) -> Any:
        return json.loads(self.body)


class Plan:
    """Queued behaviours; when empty, ``default()`` decides."""

    def __init__(self, default: Callable[[], Reply]) -> None:
        self._queue: deque[Reply] = deque()
        self.default = default

    def push(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    def next(self) -> Reply:
        return self._queue.popleft() if self._queue else self.default()


# --------------------------------------------------------------------------- HTTP


Route = Callable[[Request, "HTTPResponse"], Awaitable[None]]


class HTTPResponse:
    """Write side of one HTTP exchange (head, streamed body, abort)."""

    def __init__(self, writer: asyncio.StreamWriter, request: Request) -> None:
        self._writer = writer
        self._request = request
        self.started = False
        self._chunked = False

    async def send(self, status: int, headers: dict[str, str], body: bytes | None = None) -> None:
        """Send the head; with ``body``, the whole response (Content-Length, then close).

        Without ``body`` the response streams with chunked transfer encoding (as the real
        services do), so a cut connection is visible to the client as an incomplete body.
        """
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        hdrs = {"Connection": "close", **headers}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        else:
            hdrs["Transfer-Encoding"] = "chunked"
            self._chunked = True
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        if body is not None:
            self._writer.write(body)
        self.started = True
        await self._writer.drain()

    async def write(self, data: bytes) -> bool:
        """Stream ``data``; ``False`` if the client has gone."""
        if self._request.client_closed.is_set() or self._writer.is_closing():
            return False
        if self._chunked:
            data = b"%x\r\n" % len(data) + data + b"\r\n"
        self._writer.write(data)
        try:
            await self._writer.drain()
        except (ConnectionError, OSError):
            self._request.client_closed.set()
            return False
        return True

    async def sleep(self, seconds: float) -> bool:
        """Sleep; ``False`` (early) if the client hung up meanwhile."""
        if seconds <= 0:
            return not self._request.client_closed.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._request.client_closed.wait(), seconds)
        return not self._request.client_closed.is_set()

    async def end(self) -> None:
        """Finish a chunked body cleanly."""
        if self._chunked and not self._writer.is_closing():
            self._chunked = False
            await self.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """Drop the connection without a clean end (a disconnect mid-stream)."""
        self._writer.transport.abort()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class HTTPServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that routes by ``(method, path prefix)``."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.routes: list[tuple[str, str, Route]] = []
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    def route(self, method: str, prefix: str, handler: Route) -> None:
        self.routes.append((method, prefix, handler))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, HOST, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        watcher: asyncio.Task[None] | None = None
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            url = urllib.parse.urlsplit(target)
            request = Request(method, url.path, urllib.parse.parse_qs(url.query), headers, body)
            self.requests.append(request)
            watcher = asyncio.create_task(_watch_eof(reader, request))
            response = HTTPResponse(writer, request)
            for m, prefix, handler in self.routes:
                if m == method and url.path.startswith(prefix):
                    await handler(request, response)
                    break
            else:
                await response.send(
                    404, {"Content-Type": "application/json"}, b'{"error": "no route"}'
                )
            with contextlib.suppress(ConnectionError, OSError):
                if not writer.is_closing():
                    writer.close()
                    await writer.wait_closed()
        finally:
            if watcher is not None:
                watcher.cancel()
            self._tasks.discard(task)


async def _watch_eof(reader: asyncio.StreamReader, request: Request) -> None:
    with contextlib.suppress(Exception):
        while await reader.read(4096):
            pass
    request.client_closed.set()


async def stream_reply(
    response: HTTPResponse,
    request: Request,
    reply: Reply,
    *,
    content_type: str,
    frame: Callable[[Any], bytes],
) -> None:
    """Serve ``reply`` for a streaming endpoint: errors, delays, chunks, cuts, holds."""
    if not await response.sleep(reply.first_delay):
        return
    if reply.status != 200:
        body = reply.body if reply.body is not None else {"error": "failure"}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        ctype = "text/html" if isinstance(body, bytes) else "application/json"
        await response.send(reply.status, {"Content-Type": ctype, **reply.headers}, data)
        return
    await response.send(200, {"Content-Type": content_type, **reply.headers})
    if reply.raw is not None:
        await response.write(reply.raw)
        await response.end()
        return
    for index, chunk in enumerate(reply.chunks):
        if index and not await response.sleep(reply.delay):
            return
        if reply.cut_after is not None and index >= reply.cut_after:
            response.abort()
            return
        if not await response.write(frame(chunk)):
            return
        request.sent_chunks += 1
    if reply.cut_after is not None and reply.cut_after <= len(reply.chunks):
        response.abort()
        return
    if reply.hold:
        await request.client_closed.wait()
        return
    await response.end()


# --------------------------------------------------------------------------- WebSocket


@dataclass
class Session:
    """One recorded WebSocket session."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    received: list[Any] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None
    reply: Any = None


WSHandler = Callable[[Any, Session], Awaitable[None]]


class WSServer:
    """A WebSocket server on 127.0.0.1 (``websockets``), optionally over TLS.

    ``reject`` decides, per handshake, an HTTP status to refuse the upgrade with (e.g. 401).
    """

    def __init__(
        self,
        handler: WSHandler,
        tls: ssl.SSLContext | None = None,
        reject: Callable[[Session], tuple[int, dict[str, str], bytes] | None] | None = None,
    ) -> None:
        self.handler = handler
        self.tls = tls
        self.reject = reject
        self.sessions: list[Session] = []
        self.handshakes: list[Session] = []
        self._server: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    async def start(self) -> None:
        from websockets.asyncio.server import serve
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        def process_request(connection: Any, request: Any) -> Any:
            url = urllib.parse.urlsplit(request.path)
            session = Session(
                url.path,
                urllib.parse.parse_qs(url.query),
                {k.lower(): v for k, v in request.headers.raw_items()},
            )
            self.handshakes.append(session)
            connection.voicegraph_session = session
            if self.reject is not None:
                refused = self.reject(session)
                if refused is not None:
                    status, headers, body = refused
                    return Response(status, _REASONS.get(status, "Status"), Headers(headers), body)
            return None

        async def handle(ws: Any) -> None:
            session: Session = ws.voicegraph_session
            self.sessions.append(session)
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await self.handler(ws, session)
            except Exception:  # a client that vanished is part of the tests
                pass
            finally:
                self._tasks.discard(task)
                session.close_code = ws.close_code
                session.closed.set()

        self._server = await serve(
            handle, HOST, 0, ssl=self.tls, process_request=process_request, max_size=2**24
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for task in list(self._tasks):  # handlers asleep in a scripted delay
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
