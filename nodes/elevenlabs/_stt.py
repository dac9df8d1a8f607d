"""ElevenLabs speech to text (Scribe) as an STT engine: batch per segment or file."""

from __future__ import annotations

import ssl
from collections import deque
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from pydantic import Field

from voicegraph.graph import InputError, NodeConfig, SpeechSegment
from voicegraph.nodes._http import SDKClient
from voicegraph.nodes.stt import STTEngine

from ._client import DEFAULT_BASE_URL, make_client, require_sdk, resolve_key
from ._errors import to_provider_error

__all__ = ["ElevenLabsSTT"]


class ElevenLabsSTT(STTEngine):
    """Transcribe each VAD segment with ElevenLabs Scribe (``POST /v1/speech-to-text``).

    An STT engine, a drop-in for :class:`~voicegraph.nodes.stt.WhisperSTT`:
    ``STTNode(engine=ElevenLabsSTT())``. Each
    :class:`~voicegraph.graph.SpeechSegment` (16 kHz mono) is uploaded as raw PCM
    (``file_format=pcm_s16le_16``) with the SDK's ``speech_to_text.convert`` and its text
    becomes one final :class:`~voicegraph.graph.Transcript`. :meth:`transcribe_file`
    transcribes a whole audio or video file (batch). For interim transcripts while the user
    speaks, use :class:`ElevenLabsRealtimeSTT`.

    Errors are :class:`~voicegraph.graph.ProviderError` naming ``elevenlabs`` and the HTTP
    status (``retry_after`` from ``Retry-After`` on 429); no answer within ``timeout``
    seconds raises :class:`~voicegraph.graph.ProviderTimeoutError`. The SDK's own retries are
    off (``max_retries`` 0): combine it with others in a
    :class:`~voicegraph.nodes.fallback.FallbackSTT` for retries and failover. The SDK client
    is made when the engine starts (no request is sent) and closed with it.

    The API key comes from ``api_key=`` or ``ELEVEN_API_KEY`` / ``ELEVENLABS_API_KEY``;
    without one the constructor raises :class:`~voicegraph.graph.ConfigError`.

    Config (besides :class:`~voicegraph.nodes.stt.STTEngine`'s ``language``, sent as the
    language hint):
        model: the Scribe model (default ``"scribe_v1"``).
        base_url: the API endpoint (default ``None``: ``https://api.elevenlabs.io``).
        timeout: seconds to wait for the transcript (default 10).
    """

    class Config(STTEngine.Config):
        model: str = "scribe_v1"
        base_url: str | None = None
        timeout: float = Field(10.0, gt=0.0)

    config: Config

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

    async def start(self) -> None:
        """Create the SDK client (no request is sent)."""
        self._sdk.open()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._sdk.aclose()

    async def transcribe(self, segment: SpeechSegment) -> str:
        """Upload the segment's PCM and return Scribe's text."""
        if segment.sample_rate != 16000 or segment.channels != 1:
            raise InputError(
                f"{type(self).__name__} needs 16000 Hz mono speech, got {segment.sample_rate} "
                f"Hz with {segment.channels} channel(s); put a Resampler before the VAD"
            )
        pcm = np.ascontiguousarray(segment.pcm[:, 0]).astype("<i2").tobytes()
        return await self._convert(("speech.pcm", pcm, "audio/pcm"), "pcm_s16le_16")

    async def transcribe_file(self, path: str | Path) -> str:
        """Transcribe an audio or video file (any format ElevenLabs accepts) in one request.

        Raises:
            InputError: the file does not exist.
        """
        file = Path(path)
        if not file.is_file():
            raise InputError(f"{type(self).__name__}: no such file: {str(file)!r}")
        return await self._convert((file.name, file.read_bytes()), None)

    async def _convert(self, file: Any, file_format: str | None) -> str:
        cfg = self.config
        options: dict[str, Any] = {"max_retries": 0, "timeout_in_seconds": cfg.timeout}
        kwargs: dict[str, Any] = {"model_id": cfg.model, "file": file}
        if file_format is not None:
            kwargs["file_format"] = file_format
        if cfg.language:
            kwargs["language_code"] = cfg.language
        try:
            convert = self._sdk.client.speech_to_text.convert
            result = await convert(**kwargs, request_options=options)
        except Exception as exc:
            raise to_provider_error(exc, timeout=cfg.timeout) from exc
        text = getattr(result, "text", None)
        if text is None:  # a multichannel answer: join the channels
            parts = getattr(result, "transcripts", None) or []
            text = " ".join(str(getattr(p, "text", "")) for p in parts)
        return str(text)


_MAX_EVENTS = 256


class EventQueue:
    """Bridge from the SDK's realtime callbacks (plain functions) to an async reader.

    Bounded: if the reader falls ``_MAX_EVENTS`` messages behind, the oldest partial
    transcripts are dropped (committed transcripts and errors are always kept).
    """

    def __init__(self) -> None:
        self._items: deque[tuple[str, dict[str, Any]]] = deque()
        self._changed = anyio.Event()

    def push(self, kind: str, data: Any) -> None:
        """Queue one event (callable from the SDK's callbacks)."""
        if len(self._items) >= _MAX_EVENTS:
            for item in self._items:
                if item[0] == "partial":
                    self._items.remove(item)
                    break
        self._items.append((kind, data if isinstance(data, dict) else {"data": data}))
        self._changed.set()

    def pop(self) -> tuple[str, dict[str, Any]] | None:
        """The next event if there is one (never waits)."""
        return self._items.popleft() if self._items else None

    async def get(self) -> tuple[str, dict[str, Any]]:
        """The next event, waiting for one."""
        while not self._items:
            self._changed = anyio.Event()
            await self._changed.wait()
        return self._items.popleft()

    def clear(self) -> None:
        """Forget queued events."""
        self._items.clear()
