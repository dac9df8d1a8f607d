"""ElevenLabsTTS: WebSocket input streaming — text in as the LLM produces it, PCM out."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
from pydantic import Field

from voicegraph.graph import NodeConfig, ProviderTimeoutError
from voicegraph.nodes.tts import SpeechPiece, TTSStream

from ._align import WordAligner
from ._errors import PROVIDER, provider_error, to_provider_error
from ._voice import ElevenLabsVoice, decode_pcm

__all__ = ["ElevenLabsTTS"]


class ElevenLabsTTS(ElevenLabsVoice):
    """Text to speech with ElevenLabs' WebSocket input streaming (``multi-stream-input``).

    An engine for :class:`~voicegraph.nodes.tts.TTSNode` (``TTSNode(engine=ElevenLabsTTS())``).
    One WebSocket per engine (opened at the first reply, reopened if the server closed it
    while idle); each reply is a *context* on it. Every sentence is sent as soon as the host
    has it (with ``flush`` so generation starts at once), so speech begins while the LLM is
    still writing; the reply's final sentence also closes the context, and the server's
    ``isFinal`` for it ends the reply (its last piece carries ``final``).

    Audio comes back with character alignment; pieces are cut at word starts and tagged
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
    alignment), so the engine speaks the protocol with ``websockets`` (the SDK's own
    dependency), using the SDK's URL builder and message models. :meth:`synthesize` (for
    :class:`~voicegraph.nodes.fallback.FallbackTTS`) goes over HTTP.

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
        self._ids = itertools.count(1)

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

    async def stream(self, frame_samples: int) -> TTSStream:
        """Open a context for a new reply (connecting first if needed)."""
        from elevenlabs.types import GenerationConfig, InitialiseContext, RealtimeVoiceSettings

        ws = await self._connection()
        context = f"reply-{next(self._ids)}"
        settings = self.voice_settings()
        init = InitialiseContext(
            text=" ",
            context_id=context,
            voice_settings=RealtimeVoiceSettings(**settings) if settings else None,
            generation_config=GenerationConfig(
                chunk_length_schedule=[float(n) for n in self.config.chunk_length_schedule]
            ),
        )
        await self._send(ws, init.dict())
        return _WSReply(self, ws, context, WordAligner(self.sample_rate, frame_samples))

    async def aclose(self) -> None:
        """Close the WebSocket (``close_socket``) and the HTTP client."""
        ws, self._ws = self._ws, None
        if ws is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                try:
                    await ws.send(json.dumps({"close_socket": True}))
                    await ws.close()
                except Exception:
                    pass
        await super().aclose()

    # ------------------------------------------------------------------ connection

    async def _connection(self) -> Any:
        ws = self._ws
        if ws is not None and getattr(ws, "close_code", None) is None:
            return ws
        from websockets.asyncio.client import connect

        self._ws = None  # closed by the server while idle: connect again
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
        return self._ws

    async def _send(self, ws: Any, message: dict[str, Any]) -> None:
        try:
            await ws.send(json.dumps(message))
        except Exception as exc:
            self._lost(ws)
            raise to_provider_error(exc) from exc

    def _lost(self, ws: Any) -> None:
        if self._ws is ws:
            self._ws = None  # the next reply reconnects


class _WSReply(TTSStream):
    """One reply: a context on the engine's WebSocket."""

    def __init__(self, engine: ElevenLabsTTS, ws: Any, context: str, aligner: WordAligner):
        self._engine = engine
        self._ws = ws
        self._context = context
        self._aligner = aligner
        self._sent_chars = 0
        self._got_chars = 0
        self._done = False
        self._closed = False

    async def send(self, text: str, *, final: bool = False) -> None:
        """Send ``text`` with ``flush``; ``final`` also closes the context."""
        if text:
            message = {"text": text + " ", "context_id": self._context, "flush": True}
            await self._engine._send(self._ws, message)
            self._sent_chars += sum(1 for c in text if not c.isspace())
        if final:
            await self._engine._send(self._ws, {"context_id": self._context, "close_context": True})

    async def __aiter__(self) -> AsyncIterator[Sequence[SpeechPiece]]:
        timeout = self._engine.config.timeout
        while not self._done:
            expecting = self._got_chars < self._sent_chars
            try:
                with anyio.fail_after(timeout if expecting else None):
                    raw = await self._ws.recv()
            except TimeoutError:
                raise ProviderTimeoutError(
                    PROVIDER, f"no audio for {timeout:g} s while text was waiting (timed out)"
                ) from None
            except Exception as exc:
                self._engine._lost(self._ws)
                raise to_provider_error(exc, timeout=timeout) from exc
            pieces = self._on_message(raw)
            if pieces:
                yield pieces

    def _on_message(self, raw: str | bytes) -> list[SpeechPiece]:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise provider_error(f"malformed message: {exc}: {str(raw)[:120]!r}") from None
        if data.get("error") or (data.get("message") and not data.get("audio")):
            detail = data.get("message") or data.get("error")
            raise provider_error(f"the server reported an error: {detail}", status=data.get("code"))
        if data.get("contextId", data.get("context_id")) != self._context:
            return []  # audio of a reply that was cut off
        pieces: list[SpeechPiece] = []
        if data.get("audio"):
            pcm = decode_pcm(data["audio"])
            chars, starts = _alignment(data.get("alignment"))
            self._aligner.add(pcm, chars, starts)
            self._got_chars += sum(1 for c in chars if not c.isspace())
            pieces = self._aligner.ready()
        if data.get("isFinal") or data.get("is_final"):
            self._done = True
            pieces += self._aligner.finish()
            if pieces:
                last = pieces[-1]
                pieces[-1] = SpeechPiece(last.pcm, last.text, last.offset, last.duration, True)
        return pieces

    async def aclose(self) -> None:
        """Close the context on the server if the reply was cut off; drop what still comes."""
        if self._closed:
            return
        self._closed = True
        if self._done:
            return
        from elevenlabs.types import CloseContext

        with anyio.CancelScope(shield=True), anyio.move_on_after(self._engine.config.timeout):
            try:
                message = CloseContext(context_id=self._context, close_context=True).dict()
                await self._ws.send(json.dumps(message))
            except Exception:
                self._engine._lost(self._ws)


def _alignment(alignment: Any) -> tuple[list[str], list[float]]:
    """Characters and their start times in seconds from a WebSocket alignment object."""
    if not isinstance(alignment, dict):
        return [], []
    chars = alignment.get("chars") or []
    starts = alignment.get("charStartTimesMs") or []
    if not isinstance(chars, list) or not isinstance(starts, list) or len(chars) != len(starts):
        raise provider_error("malformed message: the alignment's lists differ in length")
    return [str(c) for c in chars], [float(s) / 1000 for s in starts]
