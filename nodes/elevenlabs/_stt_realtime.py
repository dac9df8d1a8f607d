"""ElevenLabsRealtimeSTT: streaming speech to text over the Scribe realtime WebSocket."""

from __future__ import annotations

import base64
import contextlib
import logging
from typing import Any

import anyio
import numpy as np
from pydantic import Field

from voicegraph.graph import (
    AudioFrame,
    Event,
    In,
    InputError,
    ProviderTimeoutError,
    SpeechSegment,
    SpeechStarted,
    SpeechStopped,
    Transcript,
)

from ._client import single_error
from ._errors import PROVIDER, provider_error, to_provider_error
from ._stt import ElevenLabsSTT, EventQueue

__all__ = ["ElevenLabsRealtimeSTT"]

log = logging.getLogger(__name__)

_CHUNK = 1600  # samples per message in segment mode (100 ms at 16 kHz)
_ERRORS = (
    "error",
    "auth_error",
    "quota_exceeded",
    "rate_limited",
    "transcriber_error",
    "input_error",
    "invalid_request",
    "resource_exhausted",
    "session_time_limit_exceeded",
    "unaccepted_terms",
)
_STATUS = {"auth_error": 401, "quota_exceeded": 429, "rate_limited": 429, "resource_exhausted": 429}


class ElevenLabsRealtimeSTT(ElevenLabsSTT):
    """Realtime transcription with ElevenLabs Scribe (``/v1/speech-to-text/realtime``).

    Two ways to wire it (connect one of the two inputs):

    * **streaming** — ``g.connect(vad.audio_out, stt.audio)``: every 16 kHz frame is sent as
      it arrives; interim :class:`~voicegraph.graph.Transcript` frames (``final=False``) come
      out while the user speaks, and when the VAD's ``SpeechStopped`` arrives the segment is
      committed and its final transcript (with the VAD's start/end times) follows. The
      turn detector uses the finals; interim ones are for display and barge-in by words.
    * **per segment** — ``g.connect(vad.segments, stt.speech)`` (what
      :func:`~voicegraph.nodes.agent.voice_pipeline` does, so it is a drop-in for
      :class:`~voicegraph.nodes.stt.WhisperSTT`): each segment is streamed over the open
      connection and committed; one final transcript per segment, without the cost of an
      HTTP request per utterance.

    The connection is opened with the SDK's ``speech_to_text.realtime.connect`` (manual
    commits, PCM 16 kHz) at the first audio and kept for the session. Server errors
    (``auth_error``, ``rate_limited``, ``quota_exceeded``...) and a connection that drops
    become :class:`~voicegraph.graph.ProviderError` naming ``elevenlabs``; a commit not
    answered within ``timeout`` seconds raises :class:`~voicegraph.graph.ProviderTimeoutError`.

    Config (besides :class:`ElevenLabsSTT`'s): ``model`` defaults to
    ``"scribe_v2_realtime"``; ``interim`` (default ``True``) emits interim transcripts in
    streaming mode.
    """

    class Config(ElevenLabsSTT.Config):
        model: str = "scribe_v2_realtime"
        interim: bool = True
        timeout: float = Field(10.0, gt=0.0)

    config: Config
    speech: In[SpeechSegment] = In(required=False, sample_rate=16000)
    audio: In[AudioFrame] = In(required=False, sample_rate=16000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._conn: Any = None
        self._events = EventQueue()
        self._streaming = False
        self._speech_start: float | None = None
        self._pending: list[tuple[float, float]] = []  # committed segments awaiting text

    def default_name(self) -> str:
        """``"elevenlabs_stt"``."""
        return "elevenlabs_stt"

    async def setup(self) -> None:
        """Create the SDK client; note which input is wired (streaming or per segment)."""
        await super().setup()
        self._streaming = self._connected(self.audio)

    async def close(self) -> None:
        """Close the realtime connection and the HTTP client."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with (
                anyio.CancelScope(shield=True),
                anyio.move_on_after(2),
                contextlib.suppress(Exception),
            ):
                await conn.close()
        await super().close()

    async def run(self) -> None:
        """Dispatch inputs; in streaming mode a task turns server messages into transcripts."""
        try:
            await self._run()
        except BaseExceptionGroup as group:
            raise single_error(group) from None

    async def _run(self) -> None:
        async with anyio.create_task_group() as tg:
            if self._streaming:
                tg.start_soon(self._pump)
            async for port, frame in self.frames():
                handler = self.handler_for(port)
                if handler is not None:
                    await handler(frame)
            if self._streaming:
                if self._speech_start is not None:  # the input ended mid-utterance
                    await self._commit(self._speech_start, self._last_pts)
                with anyio.move_on_after(self.config.timeout):
                    while self._pending:
                        await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

    # ------------------------------------------------------------------ streaming mode

    _last_pts = 0.0

    async def on_audio(self, frame: AudioFrame) -> None:
        """Send one frame of audio."""
        if frame.sample_rate != 16000 or frame.channels != 1:
            raise InputError(
                f"{type(self).__name__} needs 16000 Hz mono audio, got {frame.sample_rate} Hz "
                f"with {frame.channels} channel(s); put a Resampler before it"
            )
        self._last_pts = frame.end_pts
        await self._send_pcm(frame.pcm[:, 0])

    async def on_event(self, event: Event) -> None:
        """Commit the utterance when the VAD reports the end of speech; forward the event."""
        if isinstance(event, SpeechStarted):
            self._speech_start = event.pts
        elif isinstance(event, SpeechStopped) and self._speech_start is not None:
            start, self._speech_start = self._speech_start, None
            await self._commit(start, event.pts)
        await super().on_event(event)

    async def _commit(self, start: float, end: float) -> None:
        conn = await self._connection()
        self._pending.append((start, end))
        try:
            await conn.commit()
        except Exception as exc:
            raise to_provider_error(exc) from exc

    async def _pump(self) -> None:
        while True:
            if self._pending:
                with anyio.move_on_after(self.config.timeout) as scope:
                    kind, data = await self._events.get()
                if scope.cancelled_caught:
                    raise ProviderTimeoutError(
                        PROVIDER, f"no transcript {self.config.timeout:g} s after the commit"
                    )
            else:
                kind, data = await self._events.get()
            text = str(data.get("text", "")).strip()
            if kind == "partial":
                if self.config.interim and text:
                    start = self._speech_start if self._speech_start is not None else self._last_pts
                    await self.emit(
                        self.transcripts,
                        Transcript(text, final=False, start=start, end=self._last_pts,
                                   language=self.config.language),
                    )  # fmt: skip
            elif kind == "committed":
                if not self._pending:
                    continue
                start, end = self._pending.pop(0)
                if text:
                    await self.emit(
                        self.transcripts,
                        Transcript(text, final=True, start=start, end=end,
                                   language=self.config.language),
                    )  # fmt: skip
            else:
                self._raise(kind, data)

    # ------------------------------------------------------------------ segment mode

    async def transcribe(self, segment: SpeechSegment) -> str:
        """Stream the segment over the realtime connection, commit, return the transcript."""
        if segment.sample_rate != 16000 or segment.channels != 1:
            raise InputError(
                f"{type(self).__name__} needs 16000 Hz mono speech, got {segment.sample_rate} "
                f"Hz with {segment.channels} channel(s); put a Resampler before the VAD"
            )
        conn = await self._connection()
        self._events.clear()
        samples = segment.pcm[:, 0]
        for i in range(0, len(samples), _CHUNK):
            await self._send_pcm(samples[i : i + _CHUNK])
        try:
            await conn.commit()
        except Exception as exc:
            raise to_provider_error(exc) from exc
        with anyio.move_on_after(self.config.timeout) as scope:
            while True:
                kind, data = await self._events.get()
                if kind == "committed":
                    return str(data.get("text", ""))
                if kind != "partial":
                    self._raise(kind, data)
        assert scope.cancelled_caught
        raise ProviderTimeoutError(
            PROVIDER, f"no transcript {self.config.timeout:g} s after the commit"
        )

    # ------------------------------------------------------------------ connection

    async def _connection(self) -> Any:
        if self._conn is not None:
            return self._conn
        if self._client is None:
            await self.setup()
        from elevenlabs.realtime.connection import RealtimeEvents
        from elevenlabs.realtime.scribe import AudioFormat, CommitStrategy

        options: dict[str, Any] = {
            "model_id": self.config.model,
            "audio_format": AudioFormat.PCM_16000,
            "sample_rate": 16000,
            "commit_strategy": CommitStrategy.MANUAL,
        }
        if self.config.language:
            options["language_code"] = self.config.language
        try:
            with anyio.fail_after(self.config.timeout):
                conn = await self._client.speech_to_text.realtime.connect(options)
        except Exception as exc:
            raise to_provider_error(exc, timeout=self.config.timeout) from exc
        events = self._events
        conn.on(RealtimeEvents.PARTIAL_TRANSCRIPT, lambda d: events.push("partial", d))
        conn.on(RealtimeEvents.COMMITTED_TRANSCRIPT, lambda d: events.push("committed", d))
        for name in _ERRORS:
            conn.on(name, lambda d, name=name: events.push(name, d))
        conn.on(RealtimeEvents.CLOSE, lambda info=None: events.push("close", info or {}))
        self._conn = conn
        return conn

    async def _send_pcm(self, samples: np.ndarray[Any, Any]) -> None:
        conn = await self._connection()
        data = base64.b64encode(np.ascontiguousarray(samples).astype("<i2").tobytes()).decode()
        try:
            await conn.send({"audio_base_64": data})
        except Exception as exc:
            self._conn = None
            raise to_provider_error(exc) from exc

    def _raise(self, kind: str, data: dict[str, Any]) -> None:
        self._conn = None
        if kind == "close":
            code = data.get("code")
            raise provider_error(
                f"the realtime connection closed (disconnect; code {code}: "
                f"{data.get('reason') or 'no reason given'})"
            )
        detail = data.get("error") or data.get("message") or data
        if kind == "error" and isinstance(detail, str) and "parse" in detail:
            raise provider_error(f"malformed message: {detail}")
        raise provider_error(f"{kind}: {detail}", status=_STATUS.get(kind))

    def _connected(self, port: Any) -> bool:
        graph = self._graph_owner()
        if graph is None:
            return False
        while (parent := graph._graph_owner()) is not None:
            graph = parent
        return any(edge.dst is port for edge in graph.iter_edges())
