"""TTSNode: the base of text-to-speech nodes (framing, silence trimming, pauses, TTFB)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import ConfigError, In, Node, NodeConfig, Out, Sentence, SpeechAudio
from voicegraph.nodes._engine import EngineSwitch

__all__ = ["TTSNode", "resample_linear", "trim_silence"]

FloatAudio = npt.NDArray[np.float32]

MAX_HISTORY = 1000
"""How many replies :attr:`TTSNode.ttfb` keeps."""
_WINDOW = 0.01
"""Seconds per analysis window of :func:`trim_silence`."""
LEAD_MARGIN = 0.01
"""Seconds kept before the first window above the threshold (the onset's quiet ramp)."""
TAIL_MARGIN = 0.05
"""Seconds kept after the last window above the threshold (the decay of the last sound)."""

_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")


def trim_silence(audio: FloatAudio, sample_rate: int, threshold_db: float = -50.0) -> FloatAudio:
    """Cut leading and trailing silence from mono float audio in [-1, 1].

    The audio is cut to the 10 ms windows whose RMS level is above ``threshold_db`` dBFS, plus
    ``LEAD_MARGIN`` (10 ms) before and ``TAIL_MARGIN`` (50 ms) after. All-silent audio gives
    an empty array.

    Args:
        audio: 1-D float samples.
        sample_rate: samples per second.
        threshold_db: level in dBFS below which a window counts as silence (default -50).
    """
    window = max(1, round(sample_rate * _WINDOW))
    n = -(-len(audio) // window)
    flat = np.zeros(n * window, np.float64)
    flat[: len(audio)] = audio
    blocks = flat.reshape(n, window)
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    loud = np.nonzero(rms > 10 ** (threshold_db / 20))[0]
    if not len(loud):
        return audio[:0]
    start = max(0, int(loud[0]) * window - round(LEAD_MARGIN * sample_rate))
    end = min(len(audio), (int(loud[-1]) + 1) * window + round(TAIL_MARGIN * sample_rate))
    return audio[start:end]


def resample_linear(audio: FloatAudio, rate: int, target: int) -> FloatAudio:
    """Resample mono float audio by linear interpolation (``audio`` itself if rates match)."""
    audio = audio.reshape(-1)
    if rate == target or not len(audio):
        return audio
    n = max(1, round(len(audio) * target / rate))
    positions = np.arange(n) * (rate / target)
    out: FloatAudio = np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)
    return out


class TTSNode(Node):
    """Base of TTS nodes: sentences in, 20 ms :class:`SpeechAudio` frames out.

    Subclasses implement :meth:`synthesize` (text -> float audio at ``sample_rate``) and set
    ``sample_rate``. The base, per :class:`Sentence`:

    * trims the leading and trailing silence of each synthesized part
      (:func:`trim_silence`, ``silence_threshold_db``), so the first audible sample is the
      first sample sent;
    * appends a pause: ``sentence_pause`` after a sentence ending in ``. ! ? …``,
      ``clause_pause`` after a chunk cut at a clause break, none after a reply's final
      sentence; parts of one chunk (a TTS that splits it further) are joined with
      ``sentence_pause``;
    * cuts the audio into ``frame_ms`` frames (the last one padded with silence), each tagged
      with the sentence ``text``, its ``offset`` in that sentence's audio, the sentence's total
      ``text_duration`` (pause included) and ``final`` on the very last frame of the reply.
      ``pts`` counts seconds since the reply's first frame.

    ``Sentence("", final=True)`` (a reply's end after its last sentence was already sent)
    produces a single silent ``frame_ms`` frame with ``text=""`` and ``final=True``: the final
    flag is never held back waiting for a marker, so no audio is delayed.

    Synthesis takes the time the engine needs (a worker thread via ``clock.run_sync``: zero
    virtual time under ``VirtualClock``). Emitting waits when the output edge is full, so the
    next sentence is synthesized while the current one plays. ``ttfb`` records, per reply,
    the clock time from its first sentence being taken up to its first frame being emitted.
    An interrupt cancels the sentence in progress (a running synthesis thread finishes first
    and its result is discarded); the next sentence starts a new reply.

    :meth:`use_engine` lets another TTS node speak (an agent's own ``tts=``): from the next
    reply on, its :meth:`synthesize` makes the audio, brought to this node's
    ``sample_rate`` by linear interpolation; this node keeps the framing and the pauses.

    Config:
        frame_ms: frame length in milliseconds (default 20).
        sentence_pause: seconds of silence after a sentence (default 0.15).
        clause_pause: seconds of silence after a clause chunk (default 0.05).
        trim_silence: trim leading/trailing silence of each part (default ``True``).
        silence_threshold_db: trim threshold in dBFS (default -50).
    """

    class Config(NodeConfig):
        frame_ms: int = Field(20, ge=5, le=200)
        sentence_pause: float = Field(0.15, ge=0.0, le=5.0)
        clause_pause: float = Field(0.05, ge=0.0, le=5.0)
        trim_silence: bool = True
        silence_threshold_db: float = Field(-50.0, le=0.0)

    config: Config
    sentences: In[Sentence]
    audio: Out[SpeechAudio]

    sample_rate: int = 24000
    """Samples per second of the audio this node produces."""
    speaks_per_sentence: ClassVar[bool] = True
    """Whether the audio comes from :meth:`synthesize`, one sentence at a time (``False``
    for a node that streams on its own; it cannot :meth:`use_engine`)."""

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self.audio.sample_rate = self.sample_rate
        self.ttfb: deque[float] = deque(maxlen=MAX_HISTORY)
        """Per reply (the last 1000): clock seconds from its first sentence to its first frame."""
        self._in_reply = False
        self._reply_t0 = 0.0
        self._pts = 0.0
        self._first_sent = False
        self._engines: EngineSwitch[TTSNode] = EngineSwitch(self, TTSNode)
        self._speaker: TTSNode | None = None  # the engine of the reply in progress

    def use_engine(self, engine: TTSNode | None) -> None:
        """Have ``engine`` synthesize from the next reply on (``None``: this node itself).

        The engine is set up on first use and closed with this node.

        Raises:
            ConfigError: ``engine`` is not a TTS node, or this node streams its audio
                itself (it does not speak through :meth:`synthesize`).
        """
        self.check_engine(engine)
        self._engines.select(engine)

    def check_engine(self, engine: TTSNode | None) -> None:
        """Raise what :meth:`use_engine` would raise for ``engine``, without switching.

        Raises:
            ConfigError: this node streams its audio itself.
        """
        if engine is not None and engine is not self and not self.speaks_per_sentence:
            raise ConfigError(
                f"{type(self).__name__} {self.name!r} streams its own audio and cannot speak "
                f"with a {type(engine).__name__}; give the session a TTS that synthesizes per "
                "sentence (HibariTTS, ElevenLabsHTTPTTS, FallbackTTS...)"
            )

    @property
    def engine(self) -> TTSNode:
        """The node speaking the reply in progress (this node unless :meth:`use_engine`
        chose another; between replies, the one that spoke last)."""
        return self._speaker or self

    async def close(self) -> None:
        """Close the engines :meth:`use_engine` set up."""
        await self._engines.close()

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        """Synthesize ``text``: one or more 1-D float32 arrays in [-1, 1] at ``sample_rate``.

        Return several parts when the engine splits the text (they are trimmed separately).
        Run engine calls with ``await self.clock.run_sync(...)``.
        """
        raise NotImplementedError

    async def on_sentences(self, frame: Sentence) -> None:
        """Synthesize one sentence and emit its frames."""
        if not self._in_reply:
            self._in_reply = True
            self._reply_t0 = self.clock.now()
            self._pts = 0.0
            self._first_sent = False
            self._speaker = await self._engines.engine()
        text = frame.text.strip()
        pcm = np.zeros((0, 1), np.int16)
        if text:
            parts = await self._synthesize_with(self._speaker or self, text)
            pcm = self._assemble(parts, self._pause_after(text, frame.final))
        if not len(pcm):
            if frame.final:
                await self._emit_silent_final()
            return
        await self._emit_frames(pcm, text, final=frame.final)
        if frame.final:
            self._in_reply = False

    async def on_interrupt(self, event: Any) -> None:
        """Forget the reply in progress; the next sentence starts a new one."""
        self._in_reply = False

    # ------------------------------------------------------------------ internals

    async def _synthesize_with(self, engine: TTSNode, text: str) -> Sequence[FloatAudio]:
        parts = await engine.synthesize(text)
        if engine is self:
            return parts
        rate = engine.sample_rate
        return [resample_linear(np.asarray(p, np.float32), rate, self.sample_rate) for p in parts]

    def _pause_after(self, text: str, final: bool) -> float:
        if final:
            return 0.0
        if _SENTENCE_END.search(text):
            return self.config.sentence_pause
        return self.config.clause_pause

    def _assemble(self, parts: Sequence[FloatAudio], pause: float) -> npt.NDArray[np.int16]:
        cfg = self.config
        rate = self.sample_rate
        gap = np.zeros(round(cfg.sentence_pause * rate), np.float32)
        pieces: list[FloatAudio] = []
        for part in parts:
            part = np.asarray(part, np.float32).reshape(-1)
            if cfg.trim_silence:
                part = trim_silence(part, rate, cfg.silence_threshold_db)
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
            if not self._first_sent:
                self._first_sent = True
                self.ttfb.append(self.clock.now() - self._reply_t0)
            self._pts += step / rate
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
