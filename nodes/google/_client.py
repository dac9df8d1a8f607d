"""The Gemini API key, the ``google-genai`` SDK import and the client every Gemini node uses."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import ssl
from typing import Any

from voicegraph.graph import ConfigError, MissingDependencyError
from voicegraph.nodes._http import ResponseTracker, key_from_env, track_response

__all__ = ["KEY_VARIABLES", "ResponseTracker", "make_client", "require_sdk", "resolve_key"]

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
"""Environment variables searched, in order, for the Gemini API key."""


def resolve_key(api_key: str | None, node: str) -> str:
    """The API key: ``api_key`` if given, else the first of :data:`KEY_VARIABLES` that is set.

    Raises:
        ConfigError: no key anywhere; the message names the variables to set.
    """
    key = key_from_env(api_key, KEY_VARIABLES)
    if key is not None:
        return key
    raise ConfigError(
        f"{node}: no Gemini API key; set the GOOGLE_API_KEY environment variable (or "
        "GEMINI_API_KEY), or pass api_key=... (get a key at https://aistudio.google.com/apikey)"
    )


def require_sdk(node: str) -> None:
    """Check (without importing it) that ``google-genai`` is installed.

    Raises:
        MissingDependencyError: it is not; the message says ``pip install 'voicegraph[google]'``.
    """
    try:
        found = importlib.util.find_spec("google.genai") is not None
    except ModuleNotFoundError:  # the ``google`` namespace itself is missing
        found = False
    if not found:
        raise MissingDependencyError("google-genai", "google", what=node)


def _httpx() -> Any:
    """The HTTP client module the SDK uses: ``httpx2`` (google-genai >= 2) or ``httpx``."""
    for name in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            return importlib.import_module(name)
    raise MissingDependencyError("httpx2", "google", what="the Gemini nodes")


def make_client(
    api_key: str,
    *,
    base_url: str | None,
    api_version: str | None,
    timeout: float | None,
    ssl_context: ssl.SSLContext | None,
) -> tuple[Any, Any]:
    """Build a ``genai.Client`` and the async HTTP client it sends REST requests with.

    The HTTP client is ours (so responses can be tracked and closed, see
    :class:`ResponseTracker`, and so the SDK never switches to aiohttp); close it with
    ``await http.aclose()``. ``ssl_context`` (e.g. trusting a private CA) is used for REST and
    for the Live API's ``wss://`` connection. The SDK's own retries stay off (its default):
    voicegraph's fallback nodes decide when to retry.
    """
    genai = importlib.import_module("google.genai")
    types = importlib.import_module("google.genai.types")
    httpx = _httpx()
    verify: Any = ssl_context if ssl_context is not None else True
    http = httpx.AsyncClient(
        verify=verify, timeout=None, event_hooks={"response": [track_response]}
    )
    options: dict[str, Any] = {"httpx_async_client": http}
    if base_url is not None:
        options["base_url"] = base_url
    if api_version is not None:
        options["api_version"] = api_version
    if timeout is not None:
        options["timeout"] = max(1, round(timeout * 1000))  # the SDK takes milliseconds
    if ssl_context is not None:
        options["async_client_args"] = {"ssl": ssl_context}  # for the Live websocket
    client = genai.Client(api_key=api_key, http_options=types.HttpOptions(**options))
    return client, http
