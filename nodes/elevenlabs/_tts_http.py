"""ElevenLabsHTTPTTS: one streamed HTTP request per sentence, with character timestamps."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

import anyio

from voicegraph.nodes.tts import SpeechPiece, TTSStream

from ._voice import ElevenLabsVoice

__all__ = ["ElevenLabsHTTPTTS"]

_QUEUED = 16
"""Sentences of a reply waiting for their request (the host waits when more are queued)."""


class ElevenLabsHTTPTTS(ElevenLabsVoice):
    """Text to speech with ElevenLabs over HTTP streaming, one request per sentence.

    An engine for :class:`~voicegraph.nodes.tts.TTSNode`
    (``TTSNode(engine=ElevenLabsHTTPTTS())``). Each sentence of a reply is sent to ``POST
    /v1/text-to-speech/{voice_id}/stream/with-timestamps`` (``output_format=pcm_<rate>``)
    with the SDK's ``stream_with_timestamps``, one after the other; audio goes out as the
    response streams in, cut at word starts and tagged with its word (see :mod:`._align`),
    so playout marks are word-accurate on barge-in. Prefer :class:`ElevenLabsTTS`
    (WebSocket input streaming, one connection per session) for the lowest latency; this
    engine needs no WebSocket and retries nothing itself.

    An interrupt closes the HTTP stream at once. Errors are
    :class:`~voicegraph.graph.ProviderError` (``elevenlabs``, the HTTP status, the server's
    ``Retry-After`` as ``retry_after``); no audio within ``timeout`` seconds raises
    :class:`~voicegraph.graph.ProviderTimeoutError`; a response with no audio, or a stream
    cut before its end, raises ``ProviderError``. :meth:`synthesize` (whole-sentence audio)
    is what :class:`~voicegraph.nodes.fallback.FallbackTTS` uses.

    The API key comes from ``api_key=`` or ``ELEVEN_API_KEY`` / ``ELEVENLABS_API_KEY``;
    without one the constructor raises :class:`~voicegraph.graph.ConfigError`. Settings:
    see :class:`ElevenLabsVoice`.
    """

    async def stream(self, frame_samples: int) -> TTSStream:
        """A reply whose sentences are requested one by one as they are sent."""
        return _HTTPReply(self, frame_samples)


class _HTTPReply(TTSStream):
    """The sentences of one reply, each streamed over HTTP in turn."""

    def __init__(self, engine: ElevenLabsVoice, frame_samples: int) -> None:
        self._engine = engine
        self._frame_samples = frame_samples
        self._send, self._receive = anyio.create_memory_object_stream[tuple[str, bool]](_QUEUED)

    async def send(self, text: str, *, final: bool = False) -> None:
        """Queue ``text`` for its request."""
        await self._send.send((text, final))

    async def __aiter__(self) -> AsyncIterator[Sequence[SpeechPiece]]:
        async for text, final in self._receive:
            if text:
                pending: list[SpeechPiece] = []
                stream = self._engine.stream_http(text, self._frame_samples)
                async with contextlib.aclosing(stream) as pieces:
                    async for more in pieces:
                        # hold one piece back, so the reply's last one can carry ``final``
                        pending += more
                        if len(pending) > 1:
                            yield pending[:-1]
                            pending = pending[-1:]
                if final and pending:
                    last = pending[-1]
                    pending[-1] = SpeechPiece(
                        last.pcm, last.text, last.offset, last.duration, final=True
                    )
                if pending:
                    yield pending
            if final:
                return

    async def aclose(self) -> None:
        """Drop the sentences not yet requested (a running request is closed by the host's
        cancellation of the task reading it)."""
        self._send.close()
        self._receive.close()
