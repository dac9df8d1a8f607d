"""Settings and plumbing shared by the ElevenLabs TTS engines (key, client, voice, HTTP stream)."""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import AsyncGenerator, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import NodeConfig
from voicegraph.nodes._http import SDKClient
from voicegraph.nodes.tts import SpeechPiece, TTSEngine

from ._align import WordAligner
from ._client import (
    DEFAULT_BASE_URL,
    ResponseTracker,
    make_client,
    require_sdk,
    resolve_key,
)
from ._errors import provider_error, to_provider_error

__all__ = ["DEFAULT_MODEL", "DEFAULT_VOICE", "ElevenLabsVoice", "decode_pcm"]

DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"
"""The default voice ("George", one of ElevenLabs' premade voices)."""
DEFAULT_MODEL = "eleven_flash_v2_5"
"""The default model: ElevenLabs' lowest-latency one (about 75 ms)."""


def decode_pcm(data: str | bytes | None) -> npt.NDArray[np.int16]:
    """Base64 PCM16 (little-endian) to int16 samples; an odd trailing byte is dropped.

    Raises:
        ProviderError: the payload is not valid base64.
    """
    if not data:
        return np.zeros(0, np.int16)
    try:
        raw = base64.b64decode(data, validate=True)
    except (ValueError, TypeError):
        raise provider_error("malformed response: the audio is not valid base64") from None
    return np.frombuffer(raw[: len(raw) // 2 * 2], "<i2").astype(np.int16)


class ElevenLabsVoice(TTSEngine):
    """Base of the ElevenLabs TTS engines: key, client, settings, streaming over HTTP.

    :meth:`stream_http` streams one text over HTTP with character timestamps, as word-tagged
    pieces; :meth:`synthesize` returns a whole sentence's audio that way (what
    :class:`~voicegraph.nodes.fallback.FallbackTTS` calls, for every ElevenLabs engine).
    Both engines stream (``streaming``): in a :class:`~voicegraph.nodes.tts.TTSNode` their
    audio is framed as it comes, without the host's silence trimming and pauses (ElevenLabs'
    prosody already has them), and the node's output rate must be their ``sample_rate``.

    The SDK client is made when the engine starts (no request is sent) and closed with it.

    Config:
        voice_id: the voice (default :data:`DEFAULT_VOICE`).
        model: the model (default :data:`DEFAULT_MODEL`, ``eleven_flash_v2_5``).
        sample_rate: PCM output rate, 16000, 22050, 24000 or 44100 (default 24000).
        language: ISO 639-1 code to enforce a language (default ``None``: automatic).
        stability, similarity_boost, speed: voice settings (default ``None``: the voice's).
        base_url: the API endpoint (default ``None``: ``https://api.elevenlabs.io``).
        timeout: seconds to wait for the first audio and each next chunk (default 10).
    """

    class Config(NodeConfig):
        voice_id: str = DEFAULT_VOICE
        model: str = DEFAULT_MODEL
        sample_rate: Literal[16000, 22050, 24000, 44100] = 24000
        language: str | None = None
        stability: float | None = Field(None, ge=0.0, le=1.0)
        similarity_boost: float | None = Field(None, ge=0.0, le=1.0)
        speed: float | None = Field(None, ge=0.7, le=1.2)
        base_url: str | None = None
        timeout: float = Field(10.0, gt=0.0)

    config: Config
    streaming: ClassVar[bool] = True

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
        self.sample_rate = self.config.sample_rate
        self._sdk = SDKClient(
            lambda: make_client(
                self._api_key,
                base_url=self.base_url,
                timeout=self.config.timeout,
                ssl_context=self._ssl,
            )
        )

    @property
    def base_url(self) -> str:
        """The REST endpoint in use."""
        return (self.config.base_url or DEFAULT_BASE_URL).rstrip("/")

    @property
    def output_format(self) -> str:
        """The ElevenLabs ``output_format`` (raw PCM at ``sample_rate``)."""
        return f"pcm_{self.config.sample_rate}"

    def voice_settings(self) -> dict[str, float] | None:
        """The voice settings to send, or ``None`` to use the voice's own."""
        cfg = self.config
        values = {
            "stability": cfg.stability,
            "similarity_boost": cfg.similarity_boost,
            "speed": cfg.speed,
        }
        kept = {k: v for k, v in values.items() if v is not None}
        return kept or None

    async def start(self) -> None:
        """Create the SDK client (no request is sent)."""
        self._sdk.open()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._sdk.aclose()

    # ------------------------------------------------------------------ HTTP streaming

    async def synthesize(self, text: str) -> Sequence[npt.NDArray[np.float32]]:
        """The whole sentence's audio as float32 in [-1, 1], over HTTP (for FallbackTTS)."""
        pieces: list[SpeechPiece] = []
        async with contextlib.aclosing(self.stream_http(text)) as stream:
            async for more in stream:
                pieces += more
        pcm = np.concatenate([p.pcm.reshape(-1) for p in pieces])
        return [pcm.astype(np.float32) / 32768.0]

    async def stream_http(
        self, text: str, frame_samples: int = 480
    ) -> AsyncGenerator[list[SpeechPiece], None]:
        """Stream ``text`` over HTTP (``stream_with_timestamps``): word pieces as they come,
        each at most ``frame_samples`` long.

        Raises:
            ProviderError: an HTTP error, no audio, malformed data or a cut stream.
            ProviderTimeoutError: no data within ``timeout`` seconds.
        """
        cfg = self.config
        client = self._sdk.client
        aligner = WordAligner(self.sample_rate, frame_samples)
        tracker = ResponseTracker()
        got_audio = False
        aligned = 0
        try:
            with tracker.track():
                try:
                    stream = client.text_to_speech.stream_with_timestamps(
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
            await tracker.aclose()

    def _sdk_voice_settings(self) -> Any:
        settings = self.voice_settings()
        if settings is None:
            return None
        from elevenlabs import VoiceSettings

        return VoiceSettings(**settings)
