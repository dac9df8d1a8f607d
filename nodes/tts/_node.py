"""TTSNode: the TTS host node (framing, silence trimming, pauses, TTFB, engine swaps)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import anyio.abc
import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import (
    ConfigError,
    In,
    NodeConfig,
    Out,
    Sentence,
    SpeechAudio,
    first_error,
)
from voicegraph.graph.timeline import TimelineEvent, TTSFirstAudio
from voicegraph.nodes._closing import close_stream
from voicegraph.nodes._host import EngineHost, EngineSlot
from voicegraph.nodes._runs import RunStarts

from ._audio import ONSET_DB, resample_linear, trim_silence
from ._engine import FloatAudio, SpeechPiece, TTSEngine, TTSStream

__all__ = ["MAX_HISTORY", "StreamHook", "TTSNode"]

StreamHook = Callable[[TTSEngine, int], Awaitable[TTSStream]]
"""Opens a reply's stream instead of the engine: ``await hook(engine, frame_samples)`` (see
:attr:`TTSNode.stream_hook`)."""

MAX_HISTORY = 1000
"""How many replies :attr:`TTSNode.ttfb` keeps."""

_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")


class TTSNode(EngineHost[TTSEngine]):
    """The TTS stage: sentences in, :class:`SpeechAudio` frames out, spoken by an engine.

    ``TTSNode(engine=HibariTTS())``: the engine (a :class:`TTSEngine`) makes the audio; this
    node owns the graph side. Per :class:`Sentence`, with an engine that synthesizes per
    sentence:

    * trims the leading and trailing silence of each synthesized part (:func:`trim_silence`:
      ``silence_threshold_db``; the start is 10 ms before the first 10 ms above ``onset_db``
      or within 20 dB of the part's peak, so a breath or weak consonant too quiet to hear
      before the word is not sent), so the first 20 ms frame sent is already audible;
    * appends a pause: ``sentence_pause`` after a sentence ending in ``. ! ? …``,
      ``clause_pause`` after a chunk cut at a clause break, none after a reply's final
      sentence; parts of one chunk (an engine that splits it further) are joined with
      ``sentence_pause``. Unset, both come from the engine (``TTSEngine.sentence_pause``,
      0.15 s and 0.05 s by default; 0 for :class:`ScriptedTTS`);
    * cuts the audio into ``frame_ms`` frames (the last one padded with silence), each tagged
      with the sentence ``text``, its ``offset`` in that sentence's audio, the sentence's total
      ``text_duration`` (pause included) and ``final`` on the very last frame of the reply.
      ``pts`` counts seconds since the reply's first frame.

    An engine that streams (``TTSEngine.streaming``, e.g. ElevenLabs) gets the reply's
    sentences as they arrive and its audio pieces are emitted as they come (each at most
    ``frame_ms`` long, tagged with the word it speaks), without trimming or pauses.

    ``Sentence("", final=True)`` (a reply's end after its last sentence was already sent)
    produces a single silent ``frame_ms`` frame with ``text=""`` and ``final=True``: the final
    flag is never held back waiting for a marker, so no audio is delayed.

    **Sample rate.** The output rate is fixed when the node is built (downstream edges are
    checked against it before the run): ``sample_rate`` if set, else the ``sample_rate`` of
    the engine the node is built with. Audio of an engine at another rate (one chosen with
    :meth:`set_engine`) is brought to it by linear interpolation; a streaming engine must
    produce it directly (its word pieces are not resampled).

    **Engines.** :attr:`engine` is the engine in use; :meth:`set_engine` swaps it from the
    next reply on (an agent's own ``tts=``; ``None`` goes back to the one the node was built
    with). The built-with engine is entered in :meth:`setup` (models load before the first
    reply), others on first use; all are closed with the node. A graph file stores the
    built-with engine under the node's ``parts``.

    Synthesis takes the time the engine needs (a worker thread via ``clock.run_sync``: zero
    virtual time under ``VirtualClock``). Emitting waits when the output edge is full, so the
    next sentence is synthesized while the current one plays. ``ttfb`` records, per reply,
    the clock time from its first sentence being taken up to its first frame being emitted.
    An interrupt cancels the sentence in progress (a running synthesis thread finishes first
    and its result is discarded; a streamed reply is closed on the engine's side); the next
    sentence starts a new reply.

    >>> from voicegraph.nodes.tts import ScriptedTTS
    >>> tts = TTSNode(engine=ScriptedTTS(sample_rate=16000), frame_ms=10)
    >>> tts.sample_rate, tts.default_name(), type(tts.engine).__name__
    (16000, 'tts', 'ScriptedTTS')

    Args:
        engine: the TTS engine the node is built with.

    Config:
        frame_ms: frame length in milliseconds (default 20).
        sample_rate: output rate (default ``None``: the engine's).
        sentence_pause: seconds of silence after a sentence (default ``None``: the engine's).
        clause_pause: seconds of silence after a clause chunk (default ``None``: the engine's).
        trim_silence: trim leading/trailing silence of each part (default ``True``).
        silence_threshold_db: trim threshold in dBFS (default -50).
        onset_db: level in dBFS that marks a part's start (default -40, audible;
            ``silence_threshold_db``: the first sound above it, as before).

    Raises:
        ConfigError: ``engine`` is not a :class:`TTSEngine`, or streams at another rate
            than ``sample_rate``.
    """

    class Config(NodeConfig):
        frame_ms: int = Field(20, ge=5, le=200)
        sample_rate: int | None = Field(None, ge=8000, le=192000)
        sentence_pause: float | None = Field(None, ge=0.0, le=5.0)
        clause_pause: float | None = Field(None, ge=0.0, le=5.0)
        trim_silence: bool = True
        silence_threshold_db: float = Field(-50.0, le=0.0)
        onset_db: float = Field(ONSET_DB, le=0.0)

    config: Config
    sentences: In[Sentence]
    audio: Out[SpeechAudio]

    def __init__(
        self, config: NodeConfig | None = None, /, *, engine: TTSEngine, **settings: Any
    ) -> None:
        super().__init__(config, **settings)
        self._slot: EngineSlot[TTSEngine] = EngineSlot(
            self, TTSEngine, engine, "HibariTTS, ElevenLabsTTS"
        )
        self.sample_rate: int = self.config.sample_rate or engine.sample_rate
        """Samples per second of the audio this node produces (see the class docstring)."""
        self.audio.sample_rate = self.sample_rate
        self.check_engine(engine)
        self.ttfb: deque[float] = deque(maxlen=MAX_HISTORY)
        """Per reply (the last 1000): clock seconds from its first sentence to its first frame."""
        self.timeline_events: deque[TimelineEvent] = deque(maxlen=MAX_HISTORY)
        """The :class:`TTSFirstAudio` bus event of each reply (the last 1000)."""
        self._runs = RunStarts()
        self._speaker: TTSEngine = engine  # the engine of the reply in progress
        self.stream_hook: StreamHook | None = None
        """When set, each reply is spoken as a stream opened by ``await hook(engine,
        frame_samples)`` instead of by the engine (the agent layer sets it to an agent's
        ``tts_node``): its pieces must be at this node's rate and are framed like a
        streaming engine's. It applies from the next reply on."""
        self._hook: StreamHook | None = None  # the stream hook of the reply in progress
        self._reset_reply()

    def _reset_reply(self) -> None:
        """No reply in progress: the next sentence starts one (pts 0, its TTFB recorded)."""
        self._in_reply = False
        self._reply_t0 = 0.0
        self._pts = 0.0
        self._first_sent = False
        self._stream: TTSStream | None = None  # the streamed reply being spoken
        self._ended = False  # whether the streamed reply's text is complete
        self._played: anyio.Event | None = None  # set when the streamed reply is all out

    def default_name(self) -> str:
        """``"tts"``."""
        return "tts"

    # ------------------------------------------------------------------ engines

    def check_fit(self, engine: TTSEngine) -> None:
        """Refuse an engine that streams its own audio at a rate other than this node's
        (streamed audio is not resampled)."""
        name = self.name or type(self).__name__
        if engine.streaming and engine.sample_rate != self.sample_rate:
            raise ConfigError(
                f"{name}: {engine.label()} streams its own audio at {engine.sample_rate} Hz "
                f"and this node speaks at {self.sample_rate} Hz (streamed audio is not "
                f"resampled); give it sample_rate={self.sample_rate}, or use an engine that "
                "synthesizes per sentence (HibariTTS, FallbackTTS...)"
            )

    async def setup(self) -> None:
        """Enter the engine (load its model) before the first reply.

        Also called when supervision restarts the node: a reply cut off by the failure is
        forgotten, so the next sentence starts a new one. A new run starts a new
        :attr:`timeline_events` (a restart keeps it)."""
        if self._runs.new_run(self):
            self.timeline_events.clear()
        self._reset_reply()
        self._speaker = await self._slot.ready()

    async def aclose(self) -> None:
        """Close every engine this node used."""
        await self._close_stream()
        await self._slot.aclose()
        await super().aclose()

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Speak sentences in order; a streamed reply plays out before the next begins."""
        try:
            async with anyio.create_task_group() as tg:
                async for _port, frame in self.frames():
                    if isinstance(frame, Sentence):
                        await self._take(frame, tg)
                if self._stream is not None and not self._ended:
                    self._ended = True  # the input ended mid-reply: finish what was said
                    await self._stream.send("", final=True)
                await self._played_out()
        except BaseExceptionGroup as group:
            raise first_error(group) from None

    async def on_interrupt(self, event: Any) -> None:
        """Forget the reply in progress (closing a streamed one); the next sentence starts anew."""
        self._in_reply = False
        await self._close_stream()

    # ------------------------------------------------------------------ internals

    async def _take(self, frame: Sentence, tg: anyio.abc.TaskGroup) -> None:
        if not self._in_reply:
            await self._played_out()
            self._in_reply = True
            self._reply_t0 = self.clock.now()
            self._pts = 0.0
            self._first_sent = False
            self._speaker = await self._slot.ready()
            self._hook = self.stream_hook
        text = frame.text.strip()
        if self._speaker.streaming or self._hook is not None:
            await self._stream_text(text, frame.final, tg)
            return
        pcm = np.zeros((0, 1), np.int16)
        if text:
            parts = await self._speaker.synthesize(text)
            pcm = self._assemble(parts, self._pause_after(text, frame.final))
        if not len(pcm):
            if frame.final:
                await self._emit_silent_final()
            return
        await self._emit_frames(pcm, text, final=frame.final)
        if frame.final:
            self._in_reply = False

    async def _stream_text(self, text: str, final: bool, tg: anyio.abc.TaskGroup) -> None:
        stream = self._stream
        if stream is None:
            if not text:
                if final:
                    await self._emit_silent_final()
                return
            hook, samples = self._hook, self._frame_samples()
            opened = self._speaker.stream(samples) if hook is None else hook(self._speaker, samples)
            stream = self._stream = await opened
            self._ended = False
            played = self._played = anyio.Event()
            tg.start_soon(self._play, stream, played)
        if final:
            self._in_reply = False
            self._ended = True
        if text or final:
            await stream.send(text, final=final)

    async def _play(self, stream: TTSStream, played: anyio.Event) -> None:
        try:
            final = False
            async for pieces in stream:
                for piece in pieces:
                    final = final or piece.final
                    await self._emit_piece(piece)
            if not final:
                await self._emit_silent_final()
        finally:
            if self._stream is stream:
                await self._close_stream()
            played.set()

    async def _played_out(self) -> None:
        if self._played is not None:
            await self._played.wait()

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if self._played is not None:
            self._played.set()
        if stream is not None:  # bounded: a stuck close cannot block barge-in
            await close_stream(stream, self._speaker.label(), clock=self.clock)

    def _pause_after(self, text: str, final: bool) -> float:
        cfg = self.config
        if final:
            return 0.0
        if _SENTENCE_END.search(text):
            return self._sentence_pause()
        return self._speaker.clause_pause if cfg.clause_pause is None else cfg.clause_pause

    def _sentence_pause(self) -> float:
        pause = self.config.sentence_pause
        return self._speaker.sentence_pause if pause is None else pause

    def _assemble(self, parts: Sequence[FloatAudio], pause: float) -> npt.NDArray[np.int16]:
        cfg = self.config
        rate = self.sample_rate
        source_rate = self._speaker.sample_rate
        gap = np.zeros(round(self._sentence_pause() * rate), np.float32)
        pieces: list[FloatAudio] = []
        for part in parts:
            part = resample_linear(np.asarray(part, np.float32), source_rate, rate)
            if cfg.trim_silence:
                part = trim_silence(part, rate, cfg.silence_threshold_db, cfg.onset_db)
            if len(part):
                if pieces:
                    pieces.append(gap)
                pieces.append(part)
        if not pieces:
            return np.zeros((0, 1), np.int16)
        pieces.append(np.zeros(round(pause * rate), np.float32))
        audio = np.concatenate(pieces)
        step = self._frame_samples()
        padded = -(-len(audio) // step) * step
        audio = np.pad(audio, (0, padded - len(audio)))
        return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16).reshape(-1, 1)

    def _frame_samples(self) -> int:
        return max(1, round(self.sample_rate * self.config.frame_ms / 1000))

    def _first_frame_out(self) -> None:
        if not self._first_sent:
            self._first_sent = True
            self.ttfb.append(self.clock.now() - self._reply_t0)
            self.timeline_events.append(self.publish(TTSFirstAudio(self.ttfb[-1])))

    async def _emit_frames(self, pcm: npt.NDArray[np.int16], text: str, *, final: bool) -> None:
        rate = self.sample_rate
        step = self._frame_samples()
        total = len(pcm) / rate
        count = len(pcm) // step
        for i in range(count):
            chunk = pcm[i * step : (i + 1) * step]
            frame = SpeechAudio(
                chunk,
                rate,
                pts=self._pts,
                text=text,
                offset=i * step / rate,
                text_duration=total,
                final=final and i == count - 1,
            )
            self._first_frame_out()
            self._pts += step / rate
            await self.emit(self.audio, frame)

    async def _emit_piece(self, piece: SpeechPiece) -> None:
        pcm = np.asarray(piece.pcm, np.int16).reshape(-1, 1)
        frame = SpeechAudio(
            pcm,
            self.sample_rate,
            pts=self._pts,
            text=piece.text,
            offset=piece.offset,
            text_duration=piece.duration,
            final=piece.final,
        )
        self._first_frame_out()
        self._pts += len(pcm) / self.sample_rate
        await self.emit(self.audio, frame)

    async def _emit_silent_final(self) -> None:
        step = self._frame_samples()
        silence = np.zeros((step, 1), np.int16)
        duration = step / self.sample_rate
        frame = SpeechAudio(
            silence,
            self.sample_rate,
            pts=self._pts,
            text="",
            offset=0.0,
            text_duration=duration,
            final=True,
        )
        self._in_reply = False
        await self.emit(self.audio, frame)
