"""GeminiLive: speech to speech over the Gemini Live API (one WebSocket session)."""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any

import anyio
import numpy as np
from pydantic import Field

from voicegraph.graph import (
    AudioFrame,
    In,
    InputError,
    LLMText,
    Node,
    NodeConfig,
    Out,
    ProviderError,
    SpeechAudio,
    ToolCall,
    ToolResult,
    Transcript,
    first_error,
)
from voicegraph.nodes._http import SDKClient
from voicegraph.nodes.llm import DEFAULT_INSTRUCTIONS
from voicegraph.nodes.tools import FunctionTool, ToolLike, load_tools, resolve_tools

from ._client import make_client, require_sdk, resolve_key
from ._convert import to_tools
from ._errors import provider_error, to_provider_error

__all__ = ["GeminiLive"]

log = logging.getLogger(__name__)

INPUT_RATE = 16000
"""Sample rate of the audio the Live API takes."""
OUTPUT_RATE = 24000
"""Sample rate of the audio it answers with."""


class GeminiLive(Node):
    """A realtime (speech-to-speech) model: the Gemini Live API over one WebSocket.

    Ports:
        audio (in): the user's 16 kHz mono audio (e.g. from a ``Resampler``), streamed as it
            comes; Gemini's own voice activity detection decides the turns.
        tool_results (in, optional): results of the tool calls, from a ``ToolExecutor``
            (``feedback=True`` edge).
        speech (out): the agent's 24 kHz audio as :class:`~voicegraph.graph.SpeechAudio`
            (into an :class:`~voicegraph.nodes.output.AudioOutput`); a silent frame with
            ``final=True`` ends each reply. Frames carry the output transcription that arrived
            with them as ``text``, so playout marks tell (approximately) what was heard.
        text (out): the agent's words (output transcription) as
            :class:`~voicegraph.graph.LLMText` deltas, ``final=True`` at the end of a reply.
        transcripts (out): the user's words (input transcription): interim
            :class:`~voicegraph.graph.Transcript` frames, then a final one when the model
            answers.
        tool_calls (out): the model's function calls, as
            :class:`~voicegraph.graph.ToolCall` (ids from Gemini; results go back by id).

    Turn events map to voicegraph's control flow: when Gemini reports that the user
    interrupted (``serverContent.interrupted``), the node interrupts everything downstream
    (``self.interrupt("barge-in")``): the audio output stops at once and queued audio of the
    cut-off reply is dropped. ``turnComplete`` ends the reply (final frames). The server
    keeps the conversation; an interrupted reply is cut there by Gemini itself.

    Session resumption: the node asks for resumption handles; if the connection drops (or
    the server sends ``goAway`` and closes), it reconnects with the latest handle, up to
    ``max_reconnects`` times in a row, and the conversation goes on. Without a handle a
    drop is an error. Errors are :class:`~voicegraph.graph.ProviderError` naming ``gemini``
    (a refused handshake with its HTTP status, e.g. 401 for a bad key; a close frame with
    its code).

    The API key comes from ``api_key=`` or ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` (a missing
    key raises :class:`~voicegraph.graph.ConfigError` when the node is built). The SDK
    connects over ``wss://`` to ``base_url``'s host; pass ``ssl_context`` for a private CA.

    Config:
        model: the Live model (default ``"gemini-live-2.5-flash-preview"``).
        instructions: the system instruction (default: the LLM nodes' brief spoken style).
        tools: import paths of tools (the constructor also takes FunctionTools/functions).
        voice: a prebuilt voice name, e.g. ``"Puck"`` (default ``None``: the model's).
        temperature: sampling temperature (default ``None``: the model's).
        base_url, api_version: the endpoint (default ``None``: Google's, ``v1beta``).
        max_reconnects: reconnections in a row with a resumption handle (default 3).
        connect_timeout: seconds to open the session (default 10).
        end_wait: when the input ends (e.g. a file was played), seconds of server silence
            to wait for before closing the session; a reply in progress is awaited to its
            end, for at most 30 s (default 1.0).
    """

    class Config(NodeConfig):
        model: str = "gemini-live-2.5-flash-preview"
        instructions: str = DEFAULT_INSTRUCTIONS
        tools: list[str] = []
        voice: str | None = None
        temperature: float | None = Field(None, ge=0.0, le=2.0)
        base_url: str | None = None
        api_version: str | None = None
        max_reconnects: int = Field(3, ge=0)
        connect_timeout: float = Field(10.0, gt=0.0)
        end_wait: float = Field(1.0, ge=0.0)

    config: Config
    restart_on_interrupt = False
    audio: In[AudioFrame] = In(sample_rate=INPUT_RATE)
    tool_results: In[ToolResult] = In(required=False)
    speech: Out[SpeechAudio] = Out(sample_rate=OUTPUT_RATE)
    text: Out[LLMText]
    transcripts: Out[Transcript]
    tool_calls: Out[ToolCall]

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        api_key: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        tools: Sequence[ToolLike] | None = None,
        **settings: Any,
    ) -> None:
        extra: list[FunctionTool] = []
        if tools is not None:
            paths, extra = resolve_tools(tools)
            settings["tools"] = paths
        super().__init__(config, **settings)
        require_sdk(type(self).__name__)
        self._tools = load_tools(self.config.tools, extra)
        self._api_key = resolve_key(api_key, type(self).__name__)
        self._ssl = ssl_context
        self._sdk = SDKClient(self._make_client)
        self.handle: str | None = None
        """The latest session resumption handle (``None`` until the server sends one)."""
        self.sessions = 0
        """How many sessions were opened (1 + reconnections)."""
        self.usage: deque[Any] = deque(maxlen=1000)
        """The ``usageMetadata`` the server reported (the last 1000)."""
        self._user = ""
        self._last_message = 0.0
        self._said_pending = ""
        self._pts = 0.0
        self._in_reply = False

    @property
    def tools(self) -> dict[str, FunctionTool]:
        """The tools offered to the model, by name (a copy)."""
        return dict(self._tools)

    def default_name(self) -> str:
        """``"gemini_live"``."""
        return "gemini_live"

    def _make_client(self) -> tuple[Any, Any]:
        cfg = self.config
        return make_client(
            self._api_key,
            base_url=cfg.base_url,
            api_version=cfg.api_version,
            timeout=None,
            ssl_context=self._ssl,
        )

    async def setup(self) -> None:
        """Create the SDK client (the session opens when the graph runs)."""
        self._sdk.open()

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._sdk.aclose()

    def connect_config(self) -> Any:
        """The ``LiveConnectConfig`` sent in the setup message."""
        from google.genai import types

        cfg = self.config
        options: dict[str, Any] = {
            "response_modalities": [types.Modality.AUDIO],
            "system_instruction": cfg.instructions or None,
            "temperature": cfg.temperature,
            "input_audio_transcription": types.AudioTranscriptionConfig(),
            "output_audio_transcription": types.AudioTranscriptionConfig(),
            "session_resumption": types.SessionResumptionConfig(handle=self.handle),
        }
        declared = to_tools(list(self._tools.values()))
        if declared:
            options["tools"] = declared
        if cfg.voice:
            options["speech_config"] = types.SpeechConfig(
                voice_config=types.VoiceConfig(
                    prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=cfg.voice)
                )
            )
        return types.LiveConnectConfig(**options)

    # ------------------------------------------------------------------ the session

    async def run(self) -> None:
        """Hold the session: stream audio up, turn server messages into frames and events."""
        drops = 0
        while True:
            try:
                await self._session()
                return
            except Exception as exc:
                error = first_error(exc)
                drops += 1
                if not self._resumable(error) or drops > self.config.max_reconnects:
                    raise to_provider_error(error) from error
                log.warning("%s: the Live session dropped (%s); resuming", self.name, error)
                await self.clock.sleep(min(0.1 * 2 ** (drops - 1), 2.0))

    async def _session(self) -> None:
        cfg = self.config
        try:
            with anyio.fail_after(cfg.connect_timeout):
                manager = self._sdk.client.aio.live.connect(
                    model=cfg.model, config=self.connect_config()
                )
                session = await manager.__aenter__()
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                raise to_provider_error(exc, timeout=cfg.connect_timeout) from exc
            raise _Refused(exc) from exc
        self.sessions += 1
        self._last_message = self.clock.now()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._receive, session)
                async for port, frame in self.frames():
                    if port is self.audio:
                        await self._send_audio(session, frame)
                    elif isinstance(frame, ToolResult):
                        await self._send_result(session, frame)
                await self._wait_for_answers()
                tg.cancel_scope.cancel()
        finally:
            with (
                anyio.CancelScope(shield=True),
                anyio.move_on_after(2),
                contextlib.suppress(Exception),
            ):
                await manager.__aexit__(None, None, None)

    async def _wait_for_answers(self) -> None:
        """After the input ended: let a reply in progress (or about to start) finish."""
        cfg = self.config
        give_up = self.clock.now() + 30.0
        while self.clock.now() < give_up:
            quiet = self.clock.now() - self._last_message
            if not self._in_reply and quiet >= cfg.end_wait:
                return
            await self.clock.sleep(min(0.05, cfg.end_wait) or 0.01)

    def _resumable(self, error: BaseException) -> bool:
        if isinstance(error, _Refused) or self.handle is None:
            return False
        name = type(error).__name__
        if "ConnectionClosed" in name or isinstance(error, OSError):
            return True
        code = getattr(error, "code", None)
        return isinstance(code, int) and code in (1000, 1001, 1006, 1011, 1012, 1013)

    async def _send_audio(self, session: Any, frame: Any) -> None:
        from google.genai import types

        if frame.sample_rate != INPUT_RATE or frame.channels != 1:
            raise InputError(
                f"{type(self).__name__} needs {INPUT_RATE} Hz mono audio, got {frame.sample_rate} "
                f"Hz with {frame.channels} channel(s); put a Resampler before it"
            )
        data = np.ascontiguousarray(frame.pcm[:, 0]).astype("<i2").tobytes()
        await session.send_realtime_input(
            audio=types.Blob(data=data, mime_type=f"audio/pcm;rate={INPUT_RATE}")
        )

    async def _send_result(self, session: Any, result: ToolResult) -> None:
        from google.genai import types

        key = "error" if result.is_error else "output"
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(
                    id=result.call_id, name=result.name, response={key: result.output}
                )
            ]
        )

    # ------------------------------------------------------------------ server messages

    async def _receive(self, session: Any) -> None:
        while True:
            async for message in session.receive():
                await self._on_message(message)

    async def _on_message(self, message: Any) -> None:
        self._last_message = self.clock.now()
        update = message.session_resumption_update
        if update is not None and update.resumable and update.new_handle:
            self.handle = update.new_handle
        if message.go_away is not None:
            log.info("%s: the server will close the session (%s left)", self.name,
                     message.go_away.time_left)  # fmt: skip
        if message.usage_metadata is not None:
            self.usage.append(message.usage_metadata)
        if message.tool_call is not None:
            for call in message.tool_call.function_calls or []:
                args = json.dumps(call.args or {})
                await self.emit(self.tool_calls, ToolCall(call.id or "", call.name or "", args))
        content = message.server_content
        if content is None:
            return
        if content.input_transcription is not None and content.input_transcription.text:
            self._user += content.input_transcription.text
            await self.emit(self.transcripts, Transcript(self._user.strip(), final=False))
        if content.interrupted:  # the user spoke over the reply: cut it off downstream
            self._reset_reply()
            self.interrupt("barge-in")
            return
        if content.output_transcription is not None and content.output_transcription.text:
            delta = content.output_transcription.text
            self._said_pending += delta
            await self.emit(self.text, LLMText(delta))
        parts = content.model_turn.parts if content.model_turn is not None else None
        for part in parts or []:
            blob = part.inline_data
            if blob is not None and blob.data:
                await self._finish_user_turn()
                await self._emit_audio(blob.data)
        if content.turn_complete:
            await self._finish_user_turn()
            await self._end_reply()

    async def _finish_user_turn(self) -> None:
        if self._user.strip():
            text, self._user = self._user.strip(), ""
            await self.emit(self.transcripts, Transcript(text, final=True))

    async def _emit_audio(self, data: bytes) -> None:
        if len(data) % 2:
            raise provider_error("malformed audio: an odd number of bytes of 16-bit PCM")
        pcm = np.frombuffer(data, "<i2").astype(np.int16).reshape(-1, 1)
        text, self._said_pending = self._said_pending.strip(), ""
        duration = len(pcm) / OUTPUT_RATE
        frame = SpeechAudio(pcm, OUTPUT_RATE, pts=self._pts, text=text, offset=0.0,
                            text_duration=duration)  # fmt: skip
        self._pts += duration
        self._in_reply = True
        await self.emit(self.speech, frame)

    async def _end_reply(self) -> None:
        text, self._said_pending = self._said_pending.strip(), ""
        silence = np.zeros((OUTPUT_RATE // 50, 1), np.int16)
        final = SpeechAudio(silence, OUTPUT_RATE, pts=self._pts, text=text, offset=0.0,
                            text_duration=0.02, final=True)  # fmt: skip
        await self.emit(self.speech, final)
        await self.emit(self.text, LLMText("", final=True))
        self._reset_reply()

    def _reset_reply(self) -> None:
        self._said_pending = ""
        self._pts = 0.0
        self._in_reply = False


class _Refused(ProviderError):
    """The session could not be opened (not a drop: never resumed)."""

    def __init__(self, cause: BaseException) -> None:
        mapped = to_provider_error(cause)
        super().__init__(mapped.provider, str(mapped).split(": ", 1)[-1], status=mapped.status)
        self.cause = mapped
