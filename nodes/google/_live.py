"""GeminiLive: the Gemini Live API (one WebSocket per session) as a realtime engine."""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import NodeConfig, ProviderError, UsageError, first_error
from voicegraph.nodes._http import SDKClient
from voicegraph.nodes.realtime import (
    AudioDelta,
    InputTranscript,
    RealtimeEngine,
    RealtimeEvent,
    RealtimeSession,
    ResponseInterrupted,
    TextDelta,
    ToolCallRequest,
    TurnComplete,
)
from voicegraph.nodes.tools import FunctionTool

from ._client import make_client, require_sdk, resolve_key
from ._convert import to_tools
from ._errors import provider_error, to_provider_error

__all__ = ["GeminiLive", "GeminiLiveSession"]

log = logging.getLogger(__name__)

INPUT_RATE = 16000
"""Sample rate of the audio the Live API takes."""
OUTPUT_RATE = 24000
"""Sample rate of the audio it answers with."""

_RESUMABLE_CODES = (1000, 1001, 1006, 1011, 1012, 1013)


class GeminiLive(RealtimeEngine):
    """A realtime (speech-to-speech) engine: the Gemini Live API over a WebSocket.

    Run it in a :class:`~voicegraph.nodes.realtime.RealtimeNode` (which owns the ports,
    framing, interrupts and tool rounds)::

        live = RealtimeNode(engine=GeminiLive(voice="Puck"), tools=[get_weather])

    A session (:meth:`connect`) sends the instructions, tools, voice and transcription
    settings in its setup message, streams 16 kHz audio up and yields the server's messages
    as events: 24 kHz :class:`~voicegraph.nodes.realtime.AudioDelta` pieces, the output
    transcription as :class:`~voicegraph.nodes.realtime.TextDelta`, the input transcription
    as :class:`~voicegraph.nodes.realtime.InputTranscript` (the text so far; final when the
    model starts answering or the turn completes), function calls as
    :class:`~voicegraph.nodes.realtime.ToolCallRequest` (Gemini's ids),
    ``serverContent.interrupted`` as :class:`~voicegraph.nodes.realtime.ResponseInterrupted`
    (Gemini cuts the reply on its side) and ``turnComplete`` as
    :class:`~voicegraph.nodes.realtime.TurnComplete`.

    The Live API has no message that cancels a reply while the model's own voice activity
    detection is on (``activityStart`` is for manual activity detection only), so
    :meth:`GeminiLiveSession.cancel_response` is the default no-op: a reply the graph cut
    off runs to its end on the server and the host drops the rest of it.

    Session resumption lives here (it is Gemini's protocol): the session asks for
    resumption handles; if the connection drops (or the server sends ``goAway`` and
    closes), it reconnects with the latest handle, up to ``max_reconnects`` times in a row,
    and the conversation goes on (audio pushed meanwhile waits and is sent on the new
    connection). Without a handle a drop is an error. Errors are
    :class:`~voicegraph.graph.ProviderError` naming ``gemini`` (a refused handshake with its
    HTTP status, e.g. 401 for a bad key; a close frame with its code).

    The API key comes from ``api_key=`` or ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` (a missing
    key raises :class:`~voicegraph.graph.ConfigError` when the engine is built); it is never
    stored in the config, so graph files do not contain it. The SDK client is made in
    :meth:`start` and closed in :meth:`aclose`; it connects over ``wss://`` to
    ``base_url``'s host (pass ``ssl_context`` for a private CA). Network time is wall-clock
    time: run graphs with cloud engines on the ``RealClock``.

    Attributes:
        sessions: how many connections were opened (sessions plus reconnections).
        usage: the ``usageMetadata`` the server reported (the last 1000).

    Config:
        model: the Live model (default ``"gemini-live-2.5-flash-preview"``).
        voice: a prebuilt voice name, e.g. ``"Puck"`` (default ``None``: the model's).
        temperature: sampling temperature (default ``None``: the model's).
        base_url, api_version: the endpoint (default ``None``: Google's, ``v1beta``).
        max_reconnects: reconnections in a row with a resumption handle (default 3).
        connect_timeout: seconds to open a connection (default 10).
    """

    class Config(NodeConfig):
        model: str = "gemini-live-2.5-flash-preview"
        voice: str | None = None
        temperature: float | None = Field(None, ge=0.0, le=2.0)
        base_url: str | None = None
        api_version: str | None = None
        max_reconnects: int = Field(3, ge=0)
        connect_timeout: float = Field(10.0, gt=0.0)

    config: Config
    input_rate = INPUT_RATE
    output_rate = OUTPUT_RATE

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        api_key: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        require_sdk(type(self).__name__)
        self._api_key = resolve_key(api_key, type(self).__name__)
        self._ssl = ssl_context
        self._sdk = SDKClient(self._make_client)
        self.sessions = 0
        self.usage: deque[Any] = deque(maxlen=1000)

    def _make_client(self) -> tuple[Any, Any]:
        cfg = self.config
        return make_client(
            self._api_key,
            base_url=cfg.base_url,
            api_version=cfg.api_version,
            timeout=None,
            ssl_context=self._ssl,
        )

    async def start(self) -> None:
        """Create the SDK client (no connection is opened)."""
        self._sdk.open()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._sdk.aclose()

    def connect_config(
        self, instructions: str, tools: Sequence[FunctionTool], *, handle: str | None = None
    ) -> Any:
        """The ``LiveConnectConfig`` sent in the setup message (``handle``: resume a session)."""
        from google.genai import types

        cfg = self.config
        options: dict[str, Any] = {
            "response_modalities": [types.Modality.AUDIO],
            "system_instruction": instructions or None,
            "temperature": cfg.temperature,
            "input_audio_transcription": types.AudioTranscriptionConfig(),
            "output_audio_transcription": types.AudioTranscriptionConfig(),
            "session_resumption": types.SessionResumptionConfig(handle=handle),
        }
        declared = to_tools(list(tools))
        if declared:
            options["tools"] = declared
        if cfg.voice:
            options["speech_config"] = types.SpeechConfig(
                voice_config=types.VoiceConfig(
                    prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=cfg.voice)
                )
            )
        return types.LiveConnectConfig(**options)

    async def connect(self, instructions: str, tools: Sequence[FunctionTool]) -> GeminiLiveSession:
        """Open a Live session (see :class:`GeminiLiveSession`).

        Raises:
            UsageError: the engine was not entered (``async with engine``).
            ProviderError: the handshake was refused (``status``: 401 for a bad key ...).
            ProviderTimeoutError: no session within ``connect_timeout`` seconds.
        """
        if not self.started:
            raise UsageError(f"{self.label()}: enter the engine (async with) before connect()")
        session = GeminiLiveSession(self, instructions, list(tools))
        await session.open()
        return session

    async def _open(self, instructions: str, tools: list[FunctionTool], handle: str | None
                    ) -> tuple[Any, Any]:  # fmt: skip
        """One connection: ``(context manager, SDK session)``."""
        cfg = self.config
        try:
            with anyio.fail_after(cfg.connect_timeout):
                manager = self._sdk.client.aio.live.connect(
                    model=cfg.model, config=self.connect_config(instructions, tools, handle=handle)
                )
                live = await manager.__aenter__()
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                raise to_provider_error(exc, timeout=cfg.connect_timeout) from exc
            raise _Refused(exc) from exc
        self.sessions += 1
        return manager, live


class GeminiLiveSession(RealtimeSession):
    """One Gemini Live conversation (from :meth:`GeminiLive.connect`), resumed across drops.

    Attributes:
        handle: the latest session resumption handle (``None`` until the server sends one).
    """

    def __init__(self, engine: GeminiLive, instructions: str, tools: list[FunctionTool]) -> None:
        self._engine = engine
        self._instructions = instructions
        self._tools = tools
        self.handle: str | None = None
        self._manager: Any = None
        self._live: Any = None  # the SDK session of the current connection
        self._changed = anyio.Event()  # set when the connection is replaced, fails or closes
        self._failed: ProviderError | None = None
        self._closed = False
        self._user = ""  # the user's words in this turn so far

    async def open(self) -> None:
        """Open the first connection (the engine's :meth:`GeminiLive.connect` calls it)."""
        self._manager, self._live = await self._engine._open(
            self._instructions, self._tools, self.handle
        )

    # ------------------------------------------------------------------ sending

    async def push_audio(self, pcm: npt.NDArray[np.int16]) -> None:
        """Send 16 kHz mono samples (waits while the session reconnects)."""
        from google.genai import types

        data = np.ascontiguousarray(pcm.reshape(-1)).astype("<i2").tobytes()
        blob = types.Blob(data=data, mime_type=f"audio/pcm;rate={INPUT_RATE}")
        await self._send(lambda live: live.send_realtime_input(audio=blob))

    async def send_tool_result(
        self, call_id: str, name: str, output: str, *, is_error: bool = False
    ) -> None:
        """Send a ``toolResponse`` for ``call_id`` (``{"error": output}`` if ``is_error``)."""
        from google.genai import types

        key = "error" if is_error else "output"
        response = types.FunctionResponse(id=call_id, name=name, response={key: output})
        await self._send(lambda live: live.send_tool_response(function_responses=[response]))

    async def _send(self, call: Callable[[Any], Awaitable[None]]) -> None:
        """Send on the current connection; after a drop, wait for the receiving side to
        reconnect (or fail) and send again."""
        while True:
            if self._failed is not None:
                raise self._failed
            if self._closed:
                raise UsageError("the Gemini Live session is closed")
            live, changed = self._live, self._changed
            if live is None:  # reconnecting
                await changed.wait()
                continue
            try:
                await call(live)
                return
            except Exception as exc:
                if not _dropped(exc):
                    raise to_provider_error(exc) from exc
                with anyio.move_on_after(self._engine.config.connect_timeout + 5):
                    await changed.wait()  # the iteration sees the drop too and decides
                if not changed.is_set():
                    raise to_provider_error(exc) from exc

    def _signal(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    # ------------------------------------------------------------------ receiving

    def __aiter__(self) -> AsyncIterator[RealtimeEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[RealtimeEvent]:
        drops = 0
        while True:
            if self._closed:  # receive() ends normally after each turn: do not reopen
                return
            try:
                if self._live is None:
                    await self.open()
                    if self._closed:  # closed while reconnecting
                        await self._drop_connection()
                        return
                    self._signal()
                async for message in self._live.receive():  # returns after each turn
                    drops = 0
                    for event in self._on_message(message):
                        yield event
            except Exception as exc:
                error = first_error(exc)
                await self._drop_connection()
                drops += 1
                if self._closed:
                    return
                if not self._resumable(error) or drops > self._engine.config.max_reconnects:
                    self._failed = to_provider_error(error)
                    self._signal()
                    raise self._failed from error
                log.warning("gemini live: the session dropped (%s); resuming", error)
                await self._engine.clock.sleep(min(0.1 * 2 ** (drops - 1), 2.0))

    def _resumable(self, error: BaseException) -> bool:
        return self.handle is not None and not isinstance(error, _Refused) and _dropped(error)

    def _on_message(self, message: Any) -> list[RealtimeEvent]:
        events: list[RealtimeEvent] = []
        update = message.session_resumption_update
        if update is not None and update.resumable and update.new_handle:
            self.handle = update.new_handle
        if message.go_away is not None:
            log.info("gemini live: the server will close the session (%s left)",
                     message.go_away.time_left)  # fmt: skip
        if message.usage_metadata is not None:
            self._engine.usage.append(message.usage_metadata)
        if message.tool_call is not None:
            for call in message.tool_call.function_calls or []:
                args = json.dumps(call.args or {})
                events.append(ToolCallRequest(call.id or "", call.name or "", args))
        content = message.server_content
        if content is None:
            return events
        if content.input_transcription is not None and content.input_transcription.text:
            self._user += content.input_transcription.text
            events.append(InputTranscript(self._user.strip()))
        if content.interrupted:  # the user spoke over the reply: Gemini has cut it
            events.append(ResponseInterrupted())
            return events
        if content.output_transcription is not None and content.output_transcription.text:
            events.append(TextDelta(content.output_transcription.text))
        parts = content.model_turn.parts if content.model_turn is not None else None
        for part in parts or []:
            blob = part.inline_data
            if blob is not None and blob.data:
                events.extend(self._finish_user_turn())
                events.append(AudioDelta(_pcm(blob.data)))
        if content.turn_complete:
            events.extend(self._finish_user_turn())
            events.append(TurnComplete())
        return events

    def _finish_user_turn(self) -> list[RealtimeEvent]:
        text, self._user = self._user.strip(), ""
        return [InputTranscript(text, final=True)] if text else []

    # ------------------------------------------------------------------ closing

    async def _drop_connection(self) -> None:
        manager, self._manager, self._live = self._manager, None, None
        if manager is None:
            return
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(2),
            contextlib.suppress(Exception),
        ):
            await manager.__aexit__(None, None, None)

    async def aclose(self) -> None:
        """Close the connection (the conversation ends); safe to repeat."""
        if self._closed:
            return
        self._closed = True
        self._signal()
        await self._drop_connection()


def _pcm(data: bytes) -> npt.NDArray[np.int16]:
    if len(data) % 2:
        raise provider_error("malformed audio: an odd number of bytes of 16-bit PCM")
    return np.frombuffer(data, "<i2").astype(np.int16).reshape(-1, 1)


def _dropped(error: BaseException) -> bool:
    """Whether ``error`` means the connection went away (rather than a bad request)."""
    if "ConnectionClosed" in type(error).__name__ or isinstance(error, OSError):
        return True
    code = getattr(error, "code", None)
    return isinstance(code, int) and code in _RESUMABLE_CODES


class _Refused(ProviderError):
    """The session could not be opened (not a drop: never resumed)."""

    def __init__(self, cause: BaseException) -> None:
        mapped = to_provider_error(cause)
        super().__init__(mapped.provider, str(mapped).split(": ", 1)[-1], status=mapped.status)
        self.cause = mapped
