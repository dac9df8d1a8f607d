"""``voicegraph playground``: serve the page until Ctrl-C."""

from __future__ import annotations

import ipaddress
import secrets
import sys
import webbrowser
from collections.abc import Callable

import anyio

from voicegraph.graph import ConfigError, VoicegraphError

from ._agents import agent_server
from ._server import PlaygroundServer

__all__ = ["is_loopback", "playground"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def playground(
    target: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    open_browser: bool = True,
    echo: Callable[[str], None] = print,
) -> int:
    """Serve the playground for ``target`` (see :mod:`._agents`) until Ctrl-C; the exit status.

    On a ``host`` other than loopback a token is required: ``token``, or one generated and
    printed in the URL.
    """
    try:
        server = agent_server(target)
    except VoicegraphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(16)
    if token is not None and not token:
        print("error: --token must not be empty", file=sys.stderr)
        return 2
    playground = PlaygroundServer(server, token=token)

    async def serve() -> None:
        bound = await playground.start(host, port)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
        echo(f"voicegraph playground: open {url}  (Ctrl-C stops)")
        if not is_loopback(host):
            echo(f"listening on {host}: anyone who can reach it needs the token in this URL")
        if open_browser:
            webbrowser.open(url)
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await playground.close()

    try:
        anyio.run(serve)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
