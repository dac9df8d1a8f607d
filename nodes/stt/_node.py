"""The :class:`STTNode` host: one speech segment in, one final transcript out."""

from __future__ import annotations

from collections import deque
from typing import Any

from voicegraph.graph import (
    AudioFrame,
    Event,
    In,
    InputError,
    NodeConfig,
    Out,
    SpeechSegment,
    SpeechStarted,
    Transcript,
)
from voicegraph.graph.timeline import STTDone, TimelineEvent
from voicegraph.nodes._closing import close_stream
from voicegraph.nodes._host import EngineHost, EngineSlot
from voicegraph.nodes._runs import RunStarts

from ._engine import STTEngine, STTStream

__all__ = ["SAMPLE_RATE", "STTNode"]

SAMPLE_RATE = 16000
"""The sample rate STT engines get (what the VAD produces)."""
MAX_LATENCIES = 1000
"""How many recent latencies :attr:`STTNode.latencies` keeps."""


class STTNode(EngineHost[STTEngine]):
    """Speech to text: transcribe each VAD segment with an :class:`STTEngine`.

    For every ``SpeechSegment`` on ``speech`` the node asks its engine for the words and
    emits one ``Transcript(text, final=True, start=segment.speech_start,
    end=segment.speech_end, language=engine.config.language)`` on ``transcripts``; an empty
    (or whitespace-only) text emits nothing. Control events (``SpeechStarted`` /
    ``SpeechStopped`` from the VAD, ``Flush``...) are forwarded unchanged to ``transcripts``.

    >>> from voicegraph.nodes.stt import ScriptedSTT
    >>> stt = STTNode(engine=ScriptedSTT(texts=["hello"]))
    >>> stt.default_name(), type(stt.engine).__name__
    ('stt', 'ScriptedSTT')

    Ports:
        speech (in): ``SpeechSegment`` at 16 kHz mono (from ``VADNode.segments``).
        audio (in, optional): the live 16 kHz mono audio (from ``VADNode.audio_out``), for
            streaming engines.
        transcripts (out): ``Transcript`` frames: final ones, and interim ones
            (``final=False``) from a streaming engine.

    Streaming (engines with ``streaming``, e.g. ``ElevenLabsRealtimeSTT``): connect the
    VAD's ``audio_out`` to ``audio`` as well. The host then opens a live session of the
    engine at the first audio, sends every frame, emits the engine's interim words while
    the user speaks (``start`` = the VAD's ``SpeechStarted``, ``end`` = the latest audio),
    and at each segment commits the utterance instead of transcribing the segment: the
    final transcript is the session's (after any interim words sent before it). Engines
    that do not stream ignore ``audio``, so a host wired for streaming can swap between
    both kinds. The VAD sends its events on both outputs; the host forwards each once.

    Engines: the engine is entered (``async with``: models load) in :meth:`setup` and closed
    with the node. :meth:`set_engine` swaps it (an agent's own ``stt=``) from the next
    segment on; a segment being transcribed finishes with the engine it started with.

    Metrics: :attr:`latencies` holds the STT latency of each emitted transcript (the last
    1000): the clock time from when the node starts handling the segment to when the
    transcript is emitted (time queued on the edge before that is not included). Under
    ``VirtualClock`` model compute run through ``clock.run_sync`` takes zero virtual time, so
    latencies there are 0 unless an engine declares a cost with ``clock.sleep``.

    Args:
        engine: the speech-to-text model (e.g. ``WhisperSTT()``).
    """

    speech: In[SpeechSegment] = In(sample_rate=SAMPLE_RATE)
    audio: In[AudioFrame] = In(required=False, sample_rate=SAMPLE_RATE)
    transcripts: Out[Transcript]

    def __init__(
        self, config: NodeConfig | None = None, /, *, engine: STTEngine, **settings: Any
    ) -> None:
        super().__init__(config, **settings)
        self._slot: EngineSlot[STTEngine] = EngineSlot(
            self, STTEngine, engine, "WhisperSTT, ElevenLabsSTT"
        )
        self.latencies: deque[float] = deque(maxlen=MAX_LATENCIES)
        """STT latency in clock seconds of each emitted transcript (most recent last)."""
        self.timeline_events: deque[TimelineEvent] = deque(maxlen=MAX_LATENCIES)
        """The :class:`STTDone` bus event of each emitted transcript (most recent last)."""
        self._runs = RunStarts()
        self._stream: STTStream | None = None
        self._stream_engine: STTEngine | None = None
        self._speech_start: float | None = None
        self._last_pts = 0.0

    def default_name(self) -> str:
        """``"stt"``."""
        return "stt"

    # ------------------------------------------------------------------ lifecycle

    async def setup(self) -> None:
        """Enter the engine (load its model) before the first segment.

        A new run starts a new :attr:`timeline_events` (a supervised restart keeps it)."""
        if self._runs.new_run(self):
            self.timeline_events.clear()
        await self._slot.ready()

    async def aclose(self) -> None:
        """End a live session and close every engine this node entered."""
        try:
            await self._end_stream()
        finally:
            await self._slot.aclose()
            await super().aclose()

    async def _end_stream(self) -> None:
        stream, self._stream, self._stream_engine = self._stream, None, None
        if stream is not None:  # shielded and bounded; a failing close is logged
            await close_stream(stream, type(stream).__name__, clock=self.clock)

    # ------------------------------------------------------------------ inputs

    async def on_event(self, event: Event) -> None:
        """Note where speech starts, then forward the event.

        The VAD sends each event once to both inputs; the runner hands that send to this node
        once, so it is forwarded once.
        """
        if isinstance(event, SpeechStarted):
            self._speech_start = event.pts
            if self._stream is not None and self._stream_engine is not self._slot.current:
                await self._end_stream()  # set_engine between utterances
        await super().on_event(event)

    async def on_audio(self, frame: AudioFrame) -> None:
        """Send live audio to a streaming engine; emit the interim words it has."""
        if frame.sample_rate != SAMPLE_RATE or frame.channels != 1:
            raise InputError(
                f"{self.name or 'STTNode'} needs 16000 Hz mono audio, got {frame.sample_rate} "
                f"Hz with {frame.channels} channel(s); put a Resampler before the VAD"
            )
        swapped = self._stream_engine is not self._slot.current
        if self._stream is not None and swapped and self._speech_start is None:
            await self._end_stream()  # set_engine between utterances
        if self._stream is None:
            if not self._slot.current.streaming:
                return
            engine = await self._slot.ready()
            self._stream, self._stream_engine = await engine.stream(), engine
        self._last_pts = frame.end_pts
        await self._stream.push(frame.pcm[:, 0])
        await self._emit_interims()

    async def _emit_interims(self) -> None:
        """Emit the interim words the live session has received so far."""
        stream, engine = self._stream, self._stream_engine
        if stream is None or engine is None:
            return
        start = self._speech_start if self._speech_start is not None else self._last_pts
        for text in stream.interim():
            if text.strip():
                interim = Transcript(
                    text.strip(),
                    final=False,
                    start=start,
                    end=self._last_pts,
                    language=engine.config.language,
                )
                await self.emit(self.transcripts, interim)

    async def on_speech(self, segment: SpeechSegment) -> None:
        """Transcribe one segment (or commit the live session) and emit its final transcript."""
        t0 = self.clock.now()
        if self._stream is not None and self._stream_engine is not None:
            engine = self._stream_engine
            await self._emit_interims()
            text = (await self._stream.commit()).strip()
            await self._emit_interims()  # words the session sent before its final text
            if self._slot.current is not engine:  # swapped: the next engine starts afresh
                await self._end_stream()
        else:
            engine = await self._slot.ready()
            text = (await engine.transcribe(segment)).strip()
        self._speech_start = None
        if not text:
            return
        transcript = Transcript(
            text,
            final=True,
            start=segment.speech_start,
            end=segment.speech_end,
            language=engine.config.language,
        )
        await self.emit(self.transcripts, transcript)
        self.latencies.append(self.clock.now() - t0)
        self.timeline_events.append(self.publish(STTDone(text, self.latencies[-1])))
