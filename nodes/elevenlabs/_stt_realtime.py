"""ElevenLabsRealtimeSTT: streaming speech to text over the Scribe realtime WebSocket."""

from __future__ import annotations

import base64
import logging
from typing import Any, ClassVar, NoReturn

import anyio
import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import InputError, ProviderTimeoutError, SpeechSegment
from voicegraph.nodes.stt import STTStream

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

    A streaming STT engine for :class:`~voicegraph.nodes.stt.STTNode`, used two ways:

    * **per segment** — ``vad.segments`` into the host's ``speech`` only (what
      :func:`~voicegraph.nodes.agent.voice_pipeline` does, so it is a drop-in for
      :class:`~voicegraph.nodes.stt.WhisperSTT`): each segment is streamed over the open
      connection and committed; one final transcript per segment, without the cost of an
      HTTP request per utterance.
    * **streaming** — also connect ``vad.audio_out`` to the host's ``audio``: every 16 kHz
      frame is sent as it arrives; interim transcripts (``final=False``) come out while the
      user speaks, and the VAD's segment commits the utterance, whose final transcript (with
      the VAD's start/end times) follows. The turn detector uses the finals; interim ones
      are for display and barge-in by words.

    The connection is opened with the SDK's ``speech_to_text.realtime.connect`` (manual
    commits, PCM 16 kHz) at the first audio and kept until the engine closes. Server errors
    (``auth_error``, ``rate_limited``, ``quota_exceeded``...) and a connection that drops
    become :class:`~voicegraph.graph.ProviderError` naming ``elevenlabs``; a commit not
    answered within ``timeout`` seconds raises :class:`~voicegraph.graph.ProviderTimeoutError`.

    Config (besides :class:`ElevenLabsSTT`'s): ``model`` defaults to
    ``"scribe_v2_realtime"``; ``interim`` (default ``True``) gives interim transcripts when
    streaming.
    """

    streaming: ClassVar[bool] = True

    class Config(ElevenLabsSTT.Config):
        model: str = "scribe_v2_realtime"
        interim: bool = True
        timeout: float = Field(10.0, gt=0.0)

    config: Config

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._conn: Any = None
        self._broken: list[Any] = []  # connections dropped after a failure, to be closed
        self._events = EventQueue()
        self._late: list[str] = []  # interim texts that arrived while a commit waited

    async def aclose(self) -> None:
        """Close the realtime connection and the HTTP client."""
        self._drop()
        await self._close_broken()
        await super().aclose()

    async def stream(self) -> STTStream:
        """A live session over the engine's connection (opened at the first audio)."""
        return _Session(self)

    # ------------------------------------------------------------------ segment mode

    async def transcribe(self, segment: SpeechSegment) -> str:
        """Stream the segment over the realtime connection, commit, return the transcript."""
        if segment.sample_rate != 16000 or segment.channels != 1:
            raise InputError(
                f"{type(self).__name__} needs 16000 Hz mono speech, got {segment.sample_rate} "
                f"Hz with {segment.channels} channel(s); put a Resampler before the VAD"
            )
        await self._connection()
        self._events.clear()
        samples = segment.pcm[:, 0]
        for i in range(0, len(samples), _CHUNK):
            await self._send_pcm(samples[i : i + _CHUNK])
        try:
            return await self._commit()
        finally:
            self._late.clear()

    # ------------------------------------------------------------------ connection

    async def _commit(self) -> str:
        """Commit what was sent; wait for the committed transcript (interim texts that
        arrive meanwhile are kept for :meth:`_partials`)."""
        conn = await self._connection()
        try:
            await conn.commit()
        except Exception as exc:
            self._drop()
            await self._close_broken()
            raise to_provider_error(exc) from exc
        with anyio.move_on_after(self.config.timeout) as scope:
            while True:
                kind, data = await self._events.get()
                if kind == "committed":
                    return str(data.get("text", ""))
                if kind != "partial":
                    self._drop()
                    await self._close_broken()
                    self._raise(kind, data)
                if self.config.interim:
                    self._late.append(str(data.get("text", "")))
        assert scope.cancelled_caught
        raise ProviderTimeoutError(
            PROVIDER, f"no transcript {self.config.timeout:g} s after the commit"
        )

    def _partials(self) -> list[str]:
        """Interim texts received so far (raises a server error that arrived meanwhile)."""
        texts, self._late = self._late, []
        while (item := self._events.pop()) is not None:
            kind, data = item
            if kind == "partial":
                if self.config.interim:
                    texts.append(str(data.get("text", "")))
            elif kind != "committed":  # a committed text here answers no commit: stale
                self._raise(kind, data)
        return texts

    async def _connection(self) -> Any:
        await self._close_broken()
        if self._conn is not None:
            return self._conn
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
                conn = await self._sdk.client.speech_to_text.realtime.connect(options)
        except Exception as exc:
            raise to_provider_error(exc, timeout=self.config.timeout) from exc
        events = self._events
        events.clear()
        conn.on(RealtimeEvents.PARTIAL_TRANSCRIPT, lambda d: events.push("partial", d))
        conn.on(RealtimeEvents.COMMITTED_TRANSCRIPT, lambda d: events.push("committed", d))
        for name in _ERRORS:
            conn.on(name, lambda d, name=name: events.push(name, d))
        conn.on(RealtimeEvents.CLOSE, lambda info=None: events.push("close", info or {}))
        self._conn = conn
        return conn

    async def _send_pcm(self, samples: npt.NDArray[np.int16]) -> None:
        conn = await self._connection()
        data = base64.b64encode(np.ascontiguousarray(samples).astype("<i2").tobytes()).decode()
        try:
            await conn.send({"audio_base_64": data})
        except Exception as exc:
            self._drop()
            await self._close_broken()
            raise to_provider_error(exc) from exc

    def _drop(self) -> None:
        """Stop using the connection (it failed); :meth:`_close_broken` closes it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._broken.append(conn)

    async def _close_broken(self) -> None:
        """Close the dropped connections, each within 2 s (failures are logged)."""
        while self._broken:
            conn = self._broken.pop()
            with anyio.CancelScope(shield=True), anyio.move_on_after(2) as scope:
                try:
                    await conn.close()
                except Exception as exc:
                    log.debug("elevenlabs realtime: closing the connection failed: %r", exc)
            if scope.cancelled_caught:
                log.warning("elevenlabs realtime: the connection did not close within 2 s")

    def _raise(self, kind: str, data: dict[str, Any]) -> NoReturn:
        """Raise the server's error (or close) as a ProviderError; the connection is dropped
        (closed at the next await: the caller's, the next send or :meth:`aclose`)."""
        self._drop()
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


class _Session(STTStream):
    """A live session: the engine's connection, committed per utterance."""

    def __init__(self, engine: ElevenLabsRealtimeSTT) -> None:
        self._engine = engine

    async def push(self, pcm: npt.NDArray[np.int16]) -> None:
        await self._engine._send_pcm(pcm)

    def interim(self) -> list[str]:
        return self._engine._partials()

    async def commit(self) -> str:
        return await self._engine._commit()
