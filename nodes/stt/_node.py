"""The :class:`STTNode` host: one speech segment in, one final transcript out."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from pydantic import Field

from voicegraph.graph import (
    AudioFrame,
    Control,
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
from voicegraph.nodes.vad import SpeechPaused, SpeechResumed

from ._ahead import Ahead
from ._engine import STTEngine, STTStream
from ._events import TurnBoundary
from ._turn_audio import TurnAudio

__all__ = ["SAMPLE_RATE", "STTNode", "TranscribeHook"]

TranscribeHook = Callable[[STTEngine, SpeechSegment], Awaitable[str]]
"""Transcribes a segment instead of the engine: ``await hook(engine, segment)`` (see
:attr:`STTNode.transcribe_hook`)."""

SAMPLE_RATE = 16000
"""The sample rate STT engines get (what the VAD produces)."""
MAX_LATENCIES = 1000
"""How many recent latencies :attr:`STTNode.latencies` keeps."""
PREFIX = 0.5
"""Seconds of audio before the speech given to the engine (the VAD's prefix padding)."""
AHEAD_TAIL = 0.0
"""Seconds of audio after a pause's start given to a transcription ahead (none: the VAD
reports a pause about 0.1 s after the speech really stopped, so the words are all in)."""


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

    A user's turn as a whole (``turn_context``, for engines with ``whole_turns`` such as
    ``WhisperSTT``, with ``audio`` and ``boundaries`` connected; ``voice_pipeline`` wires
    both): a pause inside a sentence ends a VAD segment, and a segment transcribed on
    its own splits the sentence between two calls (Whisper's word error rate on such turns
    roughly triples). So each segment is transcribed together with the earlier speech of
    the same turn, from the live audio: the transcript's ``start`` is the turn's first
    speech and it replaces the earlier ones (a ``TurnDetector`` keeps the newest final
    transcript of each start). The turn detector's :class:`TurnBoundary` events on
    ``boundaries`` (a ``feedback=True`` edge) say where a turn ended; a turn longer than
    ``max_turn_seconds`` starts a new context at its next segment.

    Transcribing ahead (``transcribe_ahead``, same conditions but ``boundaries`` optional):
    when the VAD reports a pause (``SpeechPaused``), the speech so far is transcribed at
    once, in the background, while the VAD waits out its ``min_silence_duration``. If the
    segment then ends where the pause began, its transcript is that result, often ready
    already; if the user goes on, the result is dropped. One transcription runs at a time;
    a newer pause replaces one still waiting. A result found while the user is still quiet
    is also sent at once as an interim transcript (``final=False``, ``end`` = the pause), on
    which a turn detector can start the reply before the turn ends.

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

    Config:
        turn_context: transcribe a segment with the earlier speech of its turn (True).
        transcribe_ahead: transcribe when the VAD reports a pause (True).
        max_turn_seconds: the longest turn transcribed as a whole (30.0).
    """

    class Config(NodeConfig):
        turn_context: bool = True
        transcribe_ahead: bool = True
        max_turn_seconds: float = Field(30.0, gt=0.0, le=120.0)

    config: Config
    speech: In[SpeechSegment] = In(sample_rate=SAMPLE_RATE)
    audio: In[AudioFrame] = In(required=False, sample_rate=SAMPLE_RATE)
    boundaries: In[Control] = In(required=False)
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
        self._live = TurnAudio(seconds=self.config.max_turn_seconds + 2 * PREFIX + 1.0)
        self._turn_start: float | None = None  # first speech of the turn being transcribed
        self._boundary = float("-inf")  # audio before it belongs to an earlier turn
        self._ahead = Ahead(self._interim_ahead)
        self._pause: float | None = None  # a pause waiting for its audio, to transcribe ahead
        self.transcribe_hook: TranscribeHook | None = None
        """When set, each segment's words are ``await hook(engine, segment)`` instead of the
        engine's (the agent layer sets it to an agent's ``stt_node``): no live session is
        opened and nothing is transcribed ahead meanwhile. It applies from the next
        segment on."""

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
        self._ahead = Ahead(self._interim_ahead)
        self._live.clear()
        self._turn_start, self._boundary, self._pause = None, float("-inf"), None
        if self.config.transcribe_ahead and self.connected(self.audio):
            self.run_in_background(self._ahead.serve)

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
            if self._turn_start is None or event.pts < self._boundary:
                self._turn_start = event.pts
            if self._stream is not None and self._stream_engine is not self._slot.current:
                await self._end_stream()  # set_engine between utterances
        elif isinstance(event, SpeechPaused):
            self._pause = event.pts
            await self._maybe_ahead()
        elif isinstance(event, SpeechResumed):
            self._pause = None
            self._ahead.drop_queued()
        elif isinstance(event, TurnBoundary):
            self._boundary = max(self._boundary, event.pts)
            speaking = self._speech_start is not None and self._speech_start >= event.pts
            self._turn_start = self._speech_start if speaking else None
            return  # feedback from the turn detector: not forwarded
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
            if not self._slot.current.streaming or self.transcribe_hook is not None:
                self._live.add(frame.pts, frame.pcm[:, 0])
                await self._maybe_ahead()
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
        hook = self.transcribe_hook
        if hook is not None and self._stream is not None:
            await self._end_stream()  # a hook was set during the utterance
        if self._stream is not None and self._stream_engine is not None:
            engine = self._stream_engine
            await self._emit_interims()
            text = (await self._stream.commit()).strip()
            await self._emit_interims()  # words the session sent before its final text
            if self._slot.current is not engine:  # swapped: the next engine starts afresh
                await self._end_stream()
        else:
            engine = await self._slot.ready()
            segment = self._with_turn(segment)
            if hook is not None:
                text = (await hook(engine, segment)).strip()
            else:
                found = await self._ahead.result(engine, segment.pts, segment.speech_end)
                text = found if found is not None else (await engine.transcribe(segment)).strip()
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
        done = STTDone(text, self.latencies[-1], audio_duration=segment.duration)
        self.timeline_events.append(self.publish(done))

    # ------------------------------------------------------------------ a turn as a whole

    def _context(self, speech_start: float) -> tuple[float, float] | None:
        """Where the audio for speech starting at ``speech_start`` begins, and where its
        first speech is: the turn's first speech when transcribing turns as a whole.
        ``None``: no live audio to take it from (use the segment)."""
        engine = self._slot.current
        if not self.connected(self.audio) or engine.streaming or not engine.whole_turns:
            return None
        first = speech_start
        if (
            self.config.turn_context
            and self.connected(self.boundaries)
            and self._turn_start is not None
            and self._boundary <= self._turn_start <= speech_start
        ):
            first = self._turn_start
        start = max(first - PREFIX, self._boundary)
        if self._live.start <= first:  # the stream began less than PREFIX before the speech
            start = max(start, self._live.start)
        return start, first

    def _with_turn(self, segment: SpeechSegment) -> SpeechSegment:
        """``segment`` extended back to the start of its turn with the live audio before it
        (the segment itself when that audio is not there or the turn is too long)."""
        context = self._context(segment.speech_start)
        if context is None or context[0] >= segment.pts:
            return segment
        start, first = context
        end = segment.pts + segment.duration
        if end - start > self.config.max_turn_seconds or not self._live.covers(start, segment.pts):
            self._turn_start = segment.speech_start  # a new context from this segment on
            return segment
        before = self._live.clip(start, segment.pts).reshape(-1, 1)
        pcm = np.concatenate([before, segment.pcm[:, :1]])
        return SpeechSegment(
            pcm, SAMPLE_RATE, pts=start, speech_start=first, speech_end=segment.speech_end
        )

    async def _interim_ahead(self, segment: SpeechSegment, text: str) -> None:
        """A transcription ahead is done while the user is quiet: send it as interim words
        (a turn detector may start the reply on them: preemptive generation)."""
        transcript = Transcript(
            text,
            final=False,
            start=segment.speech_start,
            end=segment.speech_end,
            language=self._slot.current.config.language,
        )
        await self.emit(self.transcripts, transcript)

    async def _maybe_ahead(self) -> None:
        """Transcribe the speech before a reported pause, once its audio is in."""
        pause, speech_start = self._pause, self._speech_start
        ahead = self.config.transcribe_ahead and self.transcribe_hook is None
        if pause is None or speech_start is None or not ahead:
            return
        context = self._context(speech_start)
        if context is None or self._live.end < pause + AHEAD_TAIL:
            return
        self._pause = None
        start, first = context
        if pause - start > self.config.max_turn_seconds or not self._live.covers(start, pause):
            return
        pcm = self._live.clip(start, pause + AHEAD_TAIL).reshape(-1, 1)
        segment = SpeechSegment(pcm, SAMPLE_RATE, pts=start, speech_start=first, speech_end=pause)
        self._ahead.submit(await self._slot.ready(), segment)
