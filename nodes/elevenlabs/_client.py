"""The ElevenLabs API key, the ``elevenlabs`` SDK import, the client and response tracking."""

from __future__ import annotations

import importlib
import importlib.util
import ssl
from typing import Any

from voicegraph.graph import ConfigError, MissingDependencyError
from voicegraph.nodes._http import ResponseTracker, key_from_env, track_response

__all__ = [
    "DEFAULT_BASE_URL",
    "KEY_VARIABLES",
    "ResponseTracker",
    "make_client",
    "require_sdk",
    "resolve_key",
]

KEY_VARIABLES = ("ELEVEN_API_KEY", "ELEVENLABS_API_KEY")
"""Environment variables searched, in order, for the ElevenLabs API key."""
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
"""ElevenLabs' production endpoint (REST; the WebSockets use the same host over ``wss://``)."""


def resolve_key(api_key: str | None, node: str) -> str:
    """The API key: ``api_key`` if given, else the first of :data:`KEY_VARIABLES` that is set.

    Raises:
        ConfigError: no key anywhere; the message names the variables to set.
    """
    key = key_from_env(api_key, KEY_VARIABLES)
    if key is not None:
        return key
    raise ConfigError(
        f"{node}: no ElevenLabs API key; set the ELEVEN_API_KEY environment variable (or "
        "ELEVENLABS_API_KEY), or pass api_key=... (create one at "
        "https://elevenlabs.io/app/settings/api-keys)"
    )


def require_sdk(node: str) -> None:
    """Check (without importing it) that the ``elevenlabs`` SDK is installed.

    Raises:
        MissingDependencyError: it is not; the message says
            ``pip install 'voicegraph[elevenlabs]'``.
    """
    if importlib.util.find_spec("elevenlabs") is None:
        raise MissingDependencyError("elevenlabs", "elevenlabs", what=node)


def make_client(
    api_key: str, *, base_url: str, timeout: float, ssl_context: ssl.SSLContext | None
) -> tuple[Any, Any]:
    """An ``AsyncElevenLabs`` client and the ``httpx.AsyncClient`` it uses (close it yourself).

    The HTTP client carries the response hook of :class:`ResponseTracker`; ``timeout`` is
    the per-read timeout in seconds; ``ssl_context`` the TLS settings for ``base_url``.
    """
    httpx = importlib.import_module("httpx")
    client_module = importlib.import_module("elevenlabs.client")
    verify: Any = ssl_context if ssl_context is not None else True
    http = httpx.AsyncClient(
        verify=verify,
        timeout=httpx.Timeout(timeout),
        event_hooks={"response": [track_response]},
    )
    client = client_module.AsyncElevenLabs(
        api_key=api_key, base_url=base_url, timeout=timeout, httpx_client=http
    )
    return client, http
