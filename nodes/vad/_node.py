"""The :class:`VADNode` host: audio in, speech events and one segment per utterance out."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
    In,
    InputError,
    NodeConfig,
    Out,
    SpeechSegment,
)
from voicegraph.nodes._host import EngineHost, EngineSlot

from ._engine import VADEngine
from ._segmenter import Segmenter

__all__ = ["VADNode"]

SAMPLE_RATE = 16000
"""The only sample rate :class:`VADNode` accepts."""


def _segmenter(engine: VADEngine) -> Segmenter:
    cfg = engine.config
    return Segmenter(
        sample_rate=engine.sample_rate,
        window=engine.window,
        activation=cfg.activation_threshold,
        deactivation=cfg.deactivation,
        min_speech=cfg.min_speech_duration,
        min_silence=cfg.min_silence_duration,
        prefix_padding=cfg.prefix_padding_duration,
        max_buffered=cfg.max_buffered_speech,
    )


class VADNode(EngineHost[VADEngine]):
    """Detect speech in 16 kHz mono audio with a :class:`VADEngine` (e.g. ``SileroVAD()``).

    >>> from voicegraph.nodes.vad import SileroVAD
    >>> vad = VADNode(engine=SileroVAD())
    >>> vad.default_name(), vad.speaking
    ('vad', False)

    Ports:
        audio (in): ``AudioFrame`` at 16 kHz mono, frames of any size.
        audio_out (out): every input frame, passed through unchanged (the same objects), so
            downstream nodes can follow media time and hear what the VAD heard.
        segments (out): one ``SpeechSegment`` per utterance, emitted when the speech ends: the
            speech audio with ``prefix_padding_duration`` of audio before it and the trailing
            silence that confirmed the end; ``speech_start``/``speech_end`` say where the speech
            itself is. An utterance longer than ``max_buffered_speech`` is emitted in
            consecutive pieces of at most that length (memory stays bounded).

    Control events: ``SpeechStarted(pts)`` when speech starts and ``SpeechStopped(pts, duration)``
    when it stops (also at end of stream if speech is ongoing) are sent once on **both** outputs
    (one send: a node reached along both paths handles it once).
    ``pts`` is the media time of the first speech window / the first silence window. Inside
    an utterance, :class:`SpeechPaused` marks where a silence began and :class:`SpeechResumed`
    where speech came back before ``min_silence_duration`` ended the utterance (so a turn
    detector can measure how long the user really spoke).

    Decisions use media time only (frame ``pts`` and sample counts), never the clock, so a file
    run is deterministic. Input frames are cut into the engine's windows; each window's
    probability goes through LiveKit's hysteresis rules with the thresholds and durations of
    the engine's Config (see :class:`VADEngine`).

    Engines: the engine is entered (its model loads) in :meth:`setup` and closed with the
    node. :meth:`set_engine` swaps it (an agent's own ``vad=``, e.g. with other thresholds)
    at the next window outside an utterance: an utterance in progress finishes with the
    engine and settings it started with.

    Interrupts: the VAD listens to the user, so keep it outside interrupt scopes (it normally
    sits upstream of the turn detector that interrupts). If an interrupt does cancel its
    handler, the model state and the utterance in progress are kept; only the events and
    frames of the frame being handled may be lost.

    Args:
        engine: the voice activity model and its segmentation settings.

    Raises:
        InputError: a frame that is not 16 kHz mono (insert a Resampler before the VAD).
        ConfigError: an engine whose windows are not 16 kHz.
    """

    audio: In[AudioFrame] = In(sample_rate=SAMPLE_RATE)
    audio_out: Out[AudioFrame] = Out(sample_rate=SAMPLE_RATE)
    segments: Out[SpeechSegment] = Out(sample_rate=SAMPLE_RATE)

    def __init__(
        self, config: NodeConfig | None = None, /, *, engine: VADEngine, **settings: Any
    ) -> None:
        super().__init__(config, **settings)
        self._slot: EngineSlot[VADEngine] = EngineSlot(self, VADEngine, engine, "SileroVAD")
        self.check_engine(engine)
        self._active: VADEngine | None = None  # the engine deciding the current utterance
        self._segmenter = _segmenter(engine)
        self._pending: npt.NDArray[np.int16] = np.empty(0, np.int16)
        self._anchor_pts = 0.0
        self._anchor_samples = 0
        self._end_pts = 0.0

    def default_name(self) -> str:
        """``"vad"``."""
        return "vad"

    @property
    def speaking(self) -> bool:
        """Whether an utterance is in progress."""
        return self._segmenter.speaking

    # ------------------------------------------------------------------ engine

    def check_fit(self, engine: VADEngine) -> None:
        """Refuse an engine whose windows are not 16 kHz (this node takes 16 kHz audio)."""
        if engine.sample_rate != SAMPLE_RATE:
            raise ConfigError(
                f"{self.name or type(self).__name__}: {type(engine).__name__} takes "
                f"{engine.sample_rate} Hz windows; VADNode takes {SAMPLE_RATE} Hz audio"
            )

    # ------------------------------------------------------------------ lifecycle

    async def setup(self) -> None:
        """Enter the engine (load the model) and start from a clean state."""
        self._pending = np.empty(0, np.int16)
        await self._activate()

    async def aclose(self) -> None:
        """Close every engine this node entered."""
        await self._slot.aclose()
        await super().aclose()

    async def _activate(self) -> None:
        """Decide with the slot's current engine from a fresh state (between utterances)."""
        engine = await self._slot.ready()
        engine.reset()
        self._active = engine
        self._segmenter = _segmenter(engine)

    # ------------------------------------------------------------------ audio

    async def on_audio(self, frame: AudioFrame) -> None:
        """Cut the frame into windows, run the model, emit events/segments, pass the frame on."""
        if frame.sample_rate != SAMPLE_RATE or frame.channels != 1:
            raise InputError(
                f"{self.name or 'VADNode'} needs 16000 Hz mono audio, got {frame.sample_rate} "
                f"Hz with {frame.channels} channel(s) at pts {frame.pts:.3f} s; insert a "
                "Resampler (voicegraph.nodes.audio) before the VAD to convert to 16 kHz mono"
            )
        if not len(self._pending):  # re-anchor media time at a window boundary
            self._anchor_pts, self._anchor_samples = frame.pts, 0
            self._pending = frame.pcm[:, 0]
        else:
            self._pending = np.concatenate([self._pending, frame.pcm[:, 0]])
        self._end_pts = frame.end_pts
        if self._active is not self._slot.current and not self.speaking:
            await self._activate()
        engine = self._active
        assert engine is not None
        size = engine.window
        while len(self._pending) >= size:
            window, self._pending = self._pending[:size], self._pending[size:]
            pts = self._anchor_pts + self._anchor_samples / SAMPLE_RATE
            self._anchor_samples += size
            probability = engine.probability(window)
            await self._deliver(self._segmenter.push(pts, window, probability))
        await self.emit(self.audio_out, frame)

    async def on_end_of_stream(self) -> None:
        """Close an ongoing utterance: send ``SpeechStopped`` and its segment."""
        tail, self._pending = self._pending, np.empty(0, np.int16)
        await self._deliver(self._segmenter.finish(self._end_pts, tail))

    async def _deliver(self, items: list[Any]) -> None:
        for item in items:
            if isinstance(item, SpeechSegment):
                await self.emit(self.segments, item)
            else:
                await self.send_event(item)  # one send, on both outputs: handled once
