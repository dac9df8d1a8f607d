"""Turn what the Gemini SDK (and its HTTP / WebSocket layers) raise into voicegraph errors.

Every message goes through :func:`provider_error`, which masks credentials and caps its
length (``provider_message`` in ``nodes/_http.py``).
"""

from __future__ import annotations

from voicegraph.graph import ProviderError, ProviderTimeoutError
from voicegraph.nodes._http import provider_message, retry_after

__all__ = ["PROVIDER", "provider_error", "retry_after", "to_provider_error"]

PROVIDER = "gemini"

_HINTS = {
    400: "the request was rejected; check the model name and settings",
    401: "the API key was rejected; check GOOGLE_API_KEY / GEMINI_API_KEY",
    403: "the API key may not use this model or API; check GOOGLE_API_KEY / GEMINI_API_KEY",
    404: "no such model or endpoint; check the model name and base_url",
    429: "rate limit or quota exceeded",
}


def provider_error(
    message: str,
    *,
    status: int | None = None,
    wait: float | None = None,
    provider: str = PROVIDER,
) -> ProviderError:
    """A :class:`ProviderError` with ``message`` redacted and capped; ``wait`` (a Retry-After
    delay) is kept as ``retry_after``."""
    message = provider_message(message)
    if wait is not None:
        message += f"; the server asks to retry after {wait:g} s"
    return ProviderError(provider, message, status=status, retry_after=wait)


def to_provider_error(exc: BaseException, *, timeout: float | None = None) -> ProviderError:
    """Map an exception from a Gemini call to a :class:`ProviderError` naming status and cause."""
    if isinstance(exc, ProviderError):
        return exc
    from google.genai import errors

    if isinstance(exc, errors.APIError):
        code = int(exc.code) if isinstance(exc.code, int) else None
        detail = exc.message or exc.status or str(exc.details)
        response = getattr(exc, "response", None)
        wait = retry_after(getattr(response, "headers", None))
        if code is not None and code >= 1000:  # a WebSocket close code (Live API)
            return provider_error(f"the Live session closed with code {code}: {detail}")
        hint = _HINTS.get(code or 0, "server error" if (code or 0) >= 500 else "request failed")
        return provider_error(f"{hint}: {detail}", status=code, wait=wait)
    if isinstance(exc, errors.UnknownApiResponseError) or _is_validation_error(exc):
        return provider_error(f"malformed response: {_short(exc)}")
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        after = f" after {timeout:g} s" if timeout is not None else ""
        return ProviderTimeoutError(PROVIDER, f"no answer{after} (timed out)")
    status = _ws_status(exc)
    if status is not None:
        hint = _HINTS.get(status, "the Live connection was refused")
        return provider_error(f"{hint} (WebSocket handshake)", status=status)
    if "ConnectionClosed" in name:
        return provider_error(f"the connection closed unexpectedly: {_short(exc)}")
    if name in ("RemoteProtocolError", "ReadError", "IncompleteRead"):
        return provider_error(f"the connection dropped mid-stream: {name}: {exc}"[:300])
    if isinstance(exc, OSError) or "Connect" in name or "Protocol" in name or "Network" in name:
        return provider_error(f"connection failed: {name}: {_short(exc)}")
    if isinstance(exc, ValueError):
        return provider_error(f"malformed response: {_short(exc)}")
    return provider_error(f"unexpected error: {name}: {_short(exc)}")


def _ws_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) and type(exc).__name__ == "InvalidStatus" else None


def _is_validation_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "ValidationError" and "pydantic" in type(exc).__module__


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
