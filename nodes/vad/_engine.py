"""The :class:`VADEngine` interface: a speech probability per audio window."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from voicegraph.graph import ConfigError, Engine, NodeConfig

__all__ = ["VADEngine"]


class VADEngine(Engine):
    """A voice activity model as a :class:`~voicegraph.nodes.vad.VADNode` calls it.

    Implement :meth:`probability` (and :meth:`reset` if the model keeps state). The host cuts
    the audio into windows of :attr:`window` samples at :attr:`sample_rate` and turns the
    probabilities into utterances with the segmentation settings of the engine's Config, so
    an agent's own VAD (``Agent(vad=SileroVAD(min_silence_duration=0.8))``) brings its own
    thresholds too. ``probability`` is called inline on the event loop: keep it to a
    fraction of a millisecond (or the host stalls).

    Config:
        activation_threshold: probability at or above which a window is speech (0.5).
        deactivation_threshold: while speaking, a window stays speech while its probability
            is above this; ``None`` (default) means ``activation_threshold - 0.15`` (at least
            0.01).
        min_speech_duration: seconds of consecutive speech that start an utterance (0.05).
        min_silence_duration: seconds of consecutive silence that end it (0.2, Pipecat's;
            LiveKit 1.8's VAD uses 0.25, its Silero plugin 0.55). Short, because the end of
            an utterance is not the end of the turn: the turn detector's engine and
            endpointing delays decide that, and the STT transcribes at the first silence.
        prefix_padding_duration: seconds of audio kept before the speech in a segment (0.5).
        max_buffered_speech: the longest segment in seconds (60.0); a longer utterance is
            emitted in pieces.
    """

    kind: ClassVar[str] = "VAD"
    sample_rate: ClassVar[int] = 16000
    """Samples per second of the windows (the VAD host takes 16 kHz only)."""
    window: ClassVar[int] = 512
    """Samples per window."""

    class Config(NodeConfig):
        activation_threshold: float = Field(0.5, gt=0.0, le=1.0)
        deactivation_threshold: float | None = Field(None, ge=0.0, lt=1.0)
        min_speech_duration: float = Field(0.05, ge=0.0)
        min_silence_duration: float = Field(0.2, ge=0.0)
        prefix_padding_duration: float = Field(0.5, ge=0.0)
        max_buffered_speech: float = Field(60.0, gt=0.0)

        @model_validator(mode="after")
        def _check(self) -> VADEngine.Config:
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

    def probability(self, window: npt.NDArray[np.int16]) -> float:
        """P(speech) for one window of :attr:`window` mono samples (advances model state)."""
        raise NotImplementedError(f"{type(self).__name__} must implement probability()")

    def reset(self) -> None:
        """Forget the model state (an unrelated stream follows; default: nothing to do)."""
