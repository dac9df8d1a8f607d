"""Turn what the ElevenLabs SDK, httpx and websockets raise into voicegraph errors.

Every message goes through :func:`provider_error`, which masks credentials and caps its
length (``provider_message`` in ``nodes/_http.py``).
"""

from __future__ import annotations

import json
from typing import Any

from voicegraph.graph import ProviderError, ProviderTimeoutError
from voicegraph.nodes._http import provider_message, retry_after

__all__ = [
    "PROVIDER",
    "http_error",
    "provider_error",
    "retry_after",
    "to_provider_error",
]

PROVIDER = "elevenlabs"

_HINTS = {
    400: "the request was rejected; check the voice, model and output format",
    401: "the API key was rejected; check ELEVEN_API_KEY / ELEVENLABS_API_KEY",
    403: "the API key may not use this feature; check ELEVEN_API_KEY / ELEVENLABS_API_KEY",
    404: "no such voice, model or endpoint; check voice_id, model and base_url",
    422: "the request was invalid",
    429: "rate limit or concurrency limit exceeded",
}

# WebSocket close codes ElevenLabs uses for errors, mapped to the HTTP status they mean.
_CLOSE_STATUS = {1008: 401, 1011: 500, 1013: 503}


def provider_error(
    message: str, *, status: int | None = None, wait: float | None = None
) -> ProviderError:
    """A :class:`ProviderError` with ``message`` redacted and capped; ``wait`` (a Retry-After
    delay) is kept as ``retry_after``."""
    message = provider_message(message)
    if wait is not None:
        message += f"; the server asks to retry after {wait:g} s"
    return ProviderError(PROVIDER, message, status=status, retry_after=wait)


def _detail(body: Any) -> str:
    """The human part of an ElevenLabs error body (``{"detail": {"message": ...}}``...)."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return str(body)
    if isinstance(body, dict):
        detail = body.get("detail", body.get("error", body.get("message", body)))
        if isinstance(detail, dict):
            return str(detail.get("message") or detail.get("status") or detail)
        return str(detail)
    return str(body)


def http_error(status: int, body: Any, headers: Any = None) -> ProviderError:
    """The error for an HTTP error response (a 2xx here means the body could not be parsed)."""
    if 200 <= status < 300:
        return provider_error(f"malformed response: {_detail(body)}")
    hint = _HINTS.get(status, "server error" if status >= 500 else "request failed")
    return provider_error(f"{hint}: {_detail(body)}", status=status, wait=retry_after(headers))


def to_provider_error(exc: BaseException, *, timeout: float | None = None) -> ProviderError:
    """Map an exception from an ElevenLabs call to a :class:`ProviderError`."""
    if isinstance(exc, ProviderError):
        return exc
    from elevenlabs.core.api_error import ApiError

    if isinstance(exc, ApiError):
        return http_error(exc.status_code or 0, exc.body, exc.headers)
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        after = f" after {timeout:g} s" if timeout is not None else ""
        return ProviderTimeoutError(PROVIDER, f"no answer{after} (timed out)")
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if name == "InvalidStatus" and isinstance(status, int):  # a refused WebSocket handshake
        body = getattr(response, "body", b"")
        return http_error(status, body, getattr(response, "headers", None))
    if "ConnectionClosed" in name:
        rcvd = getattr(exc, "rcvd", None)
        code = getattr(rcvd, "code", None)
        reason = getattr(rcvd, "reason", "") or "no reason given"
        if code is None:
            return provider_error("the WebSocket dropped without a close frame (disconnect)")
        return provider_error(
            f"the WebSocket closed with code {code}: {reason}", status=_CLOSE_STATUS.get(code)
        )
    if isinstance(exc, ValueError | KeyError | TypeError):
        return provider_error(f"malformed response: {name}: {exc}"[:300])
    if name in ("RemoteProtocolError", "ReadError", "IncompleteRead"):
        return provider_error(f"the connection dropped mid-stream: {name}: {exc}"[:300])
    if isinstance(exc, OSError) or "Connect" in name or "Protocol" in name or "Network" in name:
        return provider_error(f"connection failed: {name}: {exc}"[:300])
    return provider_error(f"unexpected error: {name}: {exc}"[:300])
