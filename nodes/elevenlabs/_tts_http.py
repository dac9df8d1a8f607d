"""ElevenLabsHTTPTTS: one streamed HTTP request per sentence, with character timestamps."""

from __future__ import annotations

import contextlib
from typing import Any

from voicegraph.graph import Sentence

from ._align import WordAudio
from ._voice import ElevenLabsVoice

__all__ = ["ElevenLabsHTTPTTS"]


class ElevenLabsHTTPTTS(ElevenLabsVoice):
    """Text to speech with ElevenLabs over HTTP streaming, one request per sentence.

    A drop-in for :class:`~voicegraph.nodes.tts.HibariTTS` (same ports). Each
    :class:`~voicegraph.graph.Sentence` is sent to ``POST
    /v1/text-to-speech/{voice_id}/stream/with-timestamps`` (``output_format=pcm_<rate>``) with
    the SDK's ``stream_with_timestamps``; audio frames go out as the response streams in,
    cut at word starts and tagged with their word (see :mod:`._align`), so playout marks
    are word-accurate on barge-in. Prefer :class:`ElevenLabsTTS` (WebSocket input streaming,
    one connection per session) for the lowest latency; this node needs no WebSocket and
    retries nothing itself.

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

    def default_name(self) -> str:
        """``"elevenlabs_tts"``."""
        return "elevenlabs_tts"

    async def on_sentences(self, frame: Sentence) -> None:
        """Synthesize one sentence and emit its frames as they stream in."""
        self._start_reply()
        text = frame.text.strip()
        if not text:
            if frame.final:
                await self._emit_pieces([], final=True)
            return
        pending: list[WordAudio] = []
        async with contextlib.aclosing(self.stream_http(text)) as stream:
            async for pieces in stream:
                # hold one piece back so the reply's last frame can carry ``final``
                pending += pieces
                if len(pending) > 1:
                    await self._emit_pieces(pending[:-1], final=False)
                    pending = pending[-1:]
        await self._emit_pieces(pending, final=frame.final)

    async def on_interrupt(self, event: Any) -> None:
        """Forget the reply in progress (its HTTP stream was closed by the cancellation)."""
        await super().on_interrupt(event)
        self._end_reply()
