"""What the cloud providers (Gemini, ElevenLabs) share: API keys, the SDK client, HTTP errors.

Public names:

* :class:`SDKClient` — an SDK client and the HTTP client under it, made on first use and
  closed once. Engines and nodes hold one by composition
  (``self._sdk = SDKClient(lambda: make_client(...))``; ``self._sdk.client`` in a call,
  ``await self._sdk.aclose()`` in their ``aclose``).
* :func:`key_from_env` — an API key given, or the first environment variable that is set.
* :func:`provider_message` / :data:`PROVIDER_MESSAGE_LIMIT` — a provider's error text, masked
  and capped, fit for a ``ProviderError``.
* :func:`retry_after` — the wait a ``Retry-After`` / ``retry-after-ms`` header asks for.
* :class:`ResponseTracker` / :func:`track_response` — close the HTTP responses a streamed
  request opened (``track_response`` is the httpx response hook the clients install).
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import os
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

import anyio

from voicegraph.graph import clip_text, redact_secrets

__all__ = [
    "PROVIDER_MESSAGE_LIMIT",
    "ResponseTracker",
    "SDKClient",
    "key_from_env",
    "provider_message",
    "retry_after",
    "track_response",
]

PROVIDER_MESSAGE_LIMIT = 500
"""Characters of a provider's message kept in an error (the rest is counted, not shown)."""


def provider_message(text: str) -> str:
    """``text`` fit for a ProviderError: credentials masked, capped at
    :data:`PROVIDER_MESSAGE_LIMIT` characters (a provider's error body, an HTML page or a JSON
    dump echoing the request, never floods a log or leaks a key)."""
    return clip_text(redact_secrets(text), PROVIDER_MESSAGE_LIMIT)


def retry_after(headers: Any) -> float | None:
    """Seconds a ``Retry-After`` (or ``retry-after-ms``) header asks to wait, if any."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
    except (AttributeError, TypeError, ValueError):
        return None
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_RESPONSES: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "voicegraph_http_responses", default=None
)


async def track_response(response: Any) -> None:
    """httpx event hook: remember the responses opened by the current generation."""
    opened = _RESPONSES.get()
    if opened is not None:
        opened.append(response)


class ResponseTracker:
    """Close the HTTP responses a streamed request opened, even if the SDK's generator is idle.

    The SDK's streaming generators only release their connection when they are iterated to
    the end (or cancelled while reading); closing them while suspended leaves the socket open
    until garbage collection. This tracker records every response opened inside
    :meth:`track` (an httpx response hook) and :meth:`aclose` shuts them, so an interrupt
    really hangs up on the server.
    """

    def __init__(self) -> None:
        self.responses: list[Any] = []

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Record the responses opened while the block runs (in this task)."""
        token = _RESPONSES.set(self.responses)
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):  # reset from another context: harmless
                _RESPONSES.reset(token)

    async def aclose(self) -> None:
        """Close every recorded response (shielded: runs even while being cancelled)."""
        with anyio.CancelScope(shield=True):
            while self.responses:
                response = self.responses.pop()
                with contextlib.suppress(Exception):
                    await response.aclose()


def key_from_env(api_key: str | None, variables: Sequence[str]) -> str | None:
    """``api_key`` if given, else the value of the first of ``variables`` that is set."""
    if api_key:
        return api_key
    return next((value for name in variables if (value := os.environ.get(name))), None)


class SDKClient:
    """A provider's SDK client and the async HTTP client under it, made on first use.

    Args:
        make: builds ``(sdk_client, http_client)``, as the providers' ``make_client`` do
            (called without arguments: bind the key and settings with a lambda or partial).

    Not a Node and not an Engine: hold one as an attribute. :meth:`aclose` (or leaving an
    ``async with sdk:`` block) closes the HTTP connections; the next use of :attr:`client`
    makes a new pair (an engine entered again after closing works again).

    >>> made = []
    >>> sdk = SDKClient(lambda: made.append(1) or ("sdk", None))
    >>> sdk.is_open, sdk.client, sdk.client, len(made), sdk.is_open
    (False, 'sdk', 'sdk', 1, True)
    """

    def __init__(self, make: Callable[[], tuple[Any, Any]]) -> None:
        self._make = make
        self._client: Any = None
        self._http: Any = None

    @property
    def is_open(self) -> bool:
        """Whether the client has been made (and not closed since)."""
        return self._client is not None

    @property
    def client(self) -> Any:
        """The SDK client (made now if it is not yet)."""
        return self.open()

    def open(self) -> Any:
        """Make the client if it is not yet (no request is sent); return it."""
        if self._client is None:
            self._client, self._http = self._make()
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP connections and forget the client (safe to call more than once)."""
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.aclose()

    async def __aenter__(self) -> SDKClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
