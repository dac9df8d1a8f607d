"""ElevenLabsHTTPTTS: one streamed HTTP request per sentence, with character timestamps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np

from voicegraph.graph import Sentence

from ._align import WordAligner, WordAudio
from ._client import ResponseTracker
from ._errors import provider_error, to_provider_error
from ._voice import ElevenLabsVoice, decode_pcm

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
        async for pieces in self._stream(text):
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

    async def synthesize(self, text: str) -> Sequence[np.ndarray[Any, np.dtype[np.float32]]]:
        """The whole sentence's audio as float32 in [-1, 1] (for the fallback TTS)."""
        pieces: list[WordAudio] = []
        async for more in self._stream(text):
            pieces += more
        pcm = np.concatenate([p.pcm.reshape(-1) for p in pieces])
        return [pcm.astype(np.float32) / 32768.0]

    async def _stream(self, text: str) -> AsyncIterator[list[WordAudio]]:
        if self._client is None:
            await self.setup()
        cfg = self.config
        aligner = WordAligner(self.sample_rate, self._frame_samples())
        tracker = ResponseTracker()
        got_audio = False
        aligned = 0
        try:
            with tracker.track():
                try:
                    stream = self._client.text_to_speech.stream_with_timestamps(
                        cfg.voice_id,
                        text=text,
                        model_id=cfg.model,
                        output_format=self.output_format,
                        language_code=cfg.language,
                        voice_settings=self._sdk_voice_settings(),
                        request_options={"max_retries": 0},
                    )
                    async for chunk in stream:
                        pcm = decode_pcm(chunk.audio_base_64)
                        got_audio = got_audio or len(pcm) > 0
                        chars: list[str] = []
                        starts: list[float] = []
                        if chunk.alignment is not None:
                            chars = list(chunk.alignment.characters)
                            starts = list(chunk.alignment.character_start_times_seconds)
                            aligned += sum(1 for c in chars if not c.isspace())
                        aligner.add(pcm, chars, starts)
                        ready = aligner.ready()
                        if ready:
                            yield ready
                except Exception as exc:
                    raise to_provider_error(exc, timeout=cfg.timeout) from exc
            if not got_audio:
                raise provider_error(
                    "the response carried no audio (malformed or empty stream)", status=200
                )
            expected = sum(1 for c in text if not c.isspace())
            if aligned and aligned < expected:
                raise provider_error(
                    f"the audio stream ended early: {aligned} of {expected} characters spoken "
                    "(the connection dropped mid-stream?)"
                )
            yield aligner.finish(text)
        finally:
            await tracker.close()

    def _sdk_voice_settings(self) -> Any:
        settings = self.voice_settings()
        if settings is None:
            return None
        from elevenlabs import VoiceSettings

        return VoiceSettings(**settings)
