"""ElevenLabsTTS: WebSocket input streaming — text in as the LLM produces it, PCM out."""

from __future__ import annotations

import itertools
import json
from collections import deque
from typing import Any

import anyio
import anyio.abc
from pydantic import Field

from voicegraph.graph import NodeConfig, ProviderTimeoutError, Sentence

from ._align import WordAligner
from ._client import single_error
from ._errors import PROVIDER, provider_error, to_provider_error
from ._voice import ElevenLabsVoice, decode_pcm

__all__ = ["ElevenLabsTTS"]

_KEEP_DROPPED = 32


class ElevenLabsTTS(ElevenLabsVoice):
    """Text to speech with ElevenLabs' WebSocket input streaming (``multi-stream-input``).

    A drop-in for :class:`~voicegraph.nodes.tts.HibariTTS` (same ports). One WebSocket per
    session (opened at the first sentence, reopened if the server closed it while idle);
    each reply is a *context* on it. Every :class:`~voicegraph.graph.Sentence` is sent as
    soon as it arrives (with ``flush`` so generation starts at once), so speech begins while
    the LLM is still writing; the reply's final sentence also closes the context, and the
    server's ``isFinal`` for it ends the reply (the last frame carries ``final``).

    Audio comes back with character alignment; frames are cut at word starts and tagged
    with their word (see :mod:`._align`), so an :class:`~voicegraph.nodes.output.AudioOutput`
    reports exactly the words played when the user barges in. On an interrupt the reply's
    context is closed on the server (``close_context``) and any audio still arriving for it
    is dropped; the connection stays open for the next reply.

    Errors are :class:`~voicegraph.graph.ProviderError` naming ``elevenlabs``: a refused
    handshake gives its HTTP status (401 for a bad key, 429 with ``retry_after``...), an
    error message or close frame from the server its text and code, a connection that drops
    mid-reply says so; audio that stops coming for ``timeout`` seconds while text is waiting
    raises :class:`~voicegraph.graph.ProviderTimeoutError`. The SDK has no asynchronous
    client for this endpoint (its ``convert_realtime`` is synchronous and drops the
    alignment), so the node speaks the protocol with ``websockets`` (the SDK's own
    dependency), using the SDK's URL builder and message models.

    The API key comes from ``api_key=`` or ``ELEVEN_API_KEY`` / ``ELEVENLABS_API_KEY``;
    without one the constructor raises :class:`~voicegraph.graph.ConfigError`. The WebSocket
    URL follows ``base_url`` (``https`` → ``wss``; pass ``ssl_context`` for a private CA).

    Config (besides :class:`ElevenLabsVoice`'s):
        chunk_length_schedule: characters buffered before generating, per chunk (default
            ``[50, 120, 160, 290]``; sentences are flushed anyway).
        inactivity_timeout: seconds the server keeps an idle connection (default 60).
    """

    class Config(ElevenLabsVoice.Config):
        chunk_length_schedule: list[int] = Field(default_factory=lambda: [50, 120, 160, 290])
        inactivity_timeout: int = Field(60, ge=5, le=180)

    config: Config

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._ws: Any = None
        self._receiving = False
        self._ids = itertools.count(1)
        self._context: str | None = None
        self._dropped: deque[str] = deque(maxlen=_KEEP_DROPPED)
        self._aligner = WordAligner(self.sample_rate, 1)
        self._sent_chars = 0
        self._got_chars = 0
        self._idle = anyio.Event()
        self._idle.set()

    def default_name(self) -> str:
        """``"elevenlabs_tts"``."""
        return "elevenlabs_tts"

    @property
    def url(self) -> str:
        """The WebSocket URL (``/v1/text-to-speech/{voice_id}/multi-stream-input?...``)."""
        from elevenlabs.url_utils import build_ws_url

        cfg = self.config
        params = {
            "model_id": cfg.model,
            "output_format": self.output_format,
            "sync_alignment": "true",
            "inactivity_timeout": str(cfg.inactivity_timeout),
        }
        if cfg.language:
            params["language_code"] = cfg.language
        segments = ["v1", "text-to-speech", cfg.voice_id, "multi-stream-input"]
        return str(build_ws_url(self.base_url, segments, params))

    async def run(self) -> None:
        """Send sentences as they come; a receiver task turns audio into frames."""
        try:
            async with anyio.create_task_group() as tg:
                if self._ws is not None:
                    self._start_receiver(tg)
                async for _port, frame in self.frames():
                    assert isinstance(frame, Sentence)
                    await self._send(frame, tg)
                await self._idle.wait()  # the last reply plays out before the stream ends
                tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise single_error(group) from None

    async def on_interrupt(self, event: Any) -> None:
        """Close the cut-off reply's context on the server; drop what still comes for it."""
        await super().on_interrupt(event)
        context, self._context = self._context, None
        self._end_reply()
        self._idle.set()
        if context is None:
            return
        self._dropped.append(context)
        ws = self._ws
        if ws is not None:
            from elevenlabs.types import CloseContext

            with anyio.CancelScope(shield=True), anyio.move_on_after(self.config.timeout):
                try:
                    message = CloseContext(context_id=context, close_context=True).dict()
                    await ws.send(json.dumps(message))
                except Exception:
                    self._ws = None  # the connection is gone; the next reply reconnects

    async def close(self) -> None:
        """Close the WebSocket (``close_socket``) and the HTTP client."""
        ws, self._ws = self._ws, None
        if ws is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                try:
                    await ws.send(json.dumps({"close_socket": True}))
                    await ws.close()
                except Exception:
                    pass
        await super().close()

    # ------------------------------------------------------------------ sending

    async def _send(self, frame: Sentence, tg: anyio.abc.TaskGroup) -> None:
        self._start_reply()
        text = frame.text.strip()
        if self._context is None:
            if not text:
                if frame.final:
                    await self._emit_pieces([], final=True)
                return
            await self._open_context(tg)
        if text:
            await self._ws_send({"text": text + " ", "context_id": self._context, "flush": True})
            self._sent_chars += sum(1 for c in text if not c.isspace())
        if frame.final:
            await self._ws_send({"context_id": self._context, "close_context": True})

    async def _open_context(self, tg: anyio.abc.TaskGroup) -> None:
        from elevenlabs.types import GenerationConfig, InitialiseContext, RealtimeVoiceSettings

        if self._ws is None:
            await self._connect()
        if not self._receiving:
            self._start_receiver(tg)
        self._context = f"reply-{next(self._ids)}"
        self._aligner = WordAligner(self.sample_rate, self._frame_samples())
        self._sent_chars = self._got_chars = 0
        self._idle = anyio.Event()
        settings = self.voice_settings()
        init = InitialiseContext(
            text=" ",
            context_id=self._context,
            voice_settings=RealtimeVoiceSettings(**settings) if settings else None,
            generation_config=GenerationConfig(
                chunk_length_schedule=[float(n) for n in self.config.chunk_length_schedule]
            ),
        )
        await self._ws_send(init.dict())

    async def _connect(self) -> None:
        from websockets.asyncio.client import connect

        try:
            with anyio.fail_after(self.config.timeout):
                self._ws = await connect(
                    self.url,
                    additional_headers={"xi-api-key": self._api_key},
                    ssl=self._ssl if self.url.startswith("wss:") else None,
                    max_size=2**24,
                    open_timeout=None,
                )
        except Exception as exc:
            raise to_provider_error(exc, timeout=self.config.timeout) from exc

    async def _ws_send(self, message: dict[str, Any]) -> None:
        try:
            await self._ws.send(json.dumps(message))
        except Exception as exc:
            self._ws = None
            raise to_provider_error(exc) from exc

    # ------------------------------------------------------------------ receiving

    def _start_receiver(self, tg: anyio.abc.TaskGroup) -> None:
        self._receiving = True
        tg.start_soon(self._receive, self._ws)

    async def _receive(self, ws: Any) -> None:
        try:
            while True:
                expecting = self._context is not None and self._got_chars < self._sent_chars
                try:
                    with anyio.fail_after(self.config.timeout if expecting else None):
                        raw = await ws.recv()
                except TimeoutError:
                    raise ProviderTimeoutError(
                        PROVIDER,
                        f"no audio for {self.config.timeout:g} s while text was waiting "
                        "(timed out)",
                    ) from None
                await self._on_message(raw)
        except Exception as exc:
            if type(exc).__name__.startswith("ConnectionClosed"):
                if self._ws is ws:
                    self._ws = None
                if self._context is None:
                    return  # the server closed an idle connection; the next reply reconnects
            raise to_provider_error(exc, timeout=self.config.timeout) from exc
        finally:
            self._receiving = False

    async def _on_message(self, raw: str | bytes) -> None:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise provider_error(f"malformed message: {exc}: {str(raw)[:120]!r}") from None
        if data.get("error") or (data.get("message") and not data.get("audio")):
            detail = data.get("message") or data.get("error")
            raise provider_error(f"the server reported an error: {detail}", status=data.get("code"))
        context = data.get("contextId", data.get("context_id"))
        if context != self._context or context is None or context in self._dropped:
            return  # audio of a reply that was cut off
        if data.get("audio"):
            pcm = decode_pcm(data["audio"])
            chars, starts = _alignment(data.get("alignment"))
            self._aligner.add(pcm, chars, starts)
            self._got_chars += sum(1 for c in chars if not c.isspace())
            await self._emit_pieces(self._aligner.ready(), final=False)
        if data.get("isFinal") or data.get("is_final"):
            pieces = self._aligner.finish()
            self._context = None
            await self._emit_pieces(pieces, final=True)
            self._idle.set()


def _alignment(alignment: Any) -> tuple[list[str], list[float]]:
    """Characters and their start times in seconds from a WebSocket alignment object."""
    if not isinstance(alignment, dict):
        return [], []
    chars = alignment.get("chars") or []
    starts = alignment.get("charStartTimesMs") or []
    if not isinstance(chars, list) or not isinstance(starts, list) or len(chars) != len(starts):
        raise provider_error("malformed message: the alignment's lists differ in length")
    return [str(c) for c in chars], [float(s) / 1000 for s in starts]
