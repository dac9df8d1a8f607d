"""The :class:`TTSEngine` interface: audio for one sentence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from voicegraph.graph import Engine

__all__ = ["FloatAudio", "TTSEngine"]

FloatAudio = npt.NDArray[np.float32]
"""Mono float samples in [-1, 1]."""


class TTSEngine(Engine):
    """A text-to-speech model as a :class:`~voicegraph.nodes.tts.TTSNode` calls it.

    Implement :meth:`synthesize` and set :attr:`sample_rate`. The host node trims silence,
    adds pauses, frames the audio and handles interrupts.
    """

    kind: ClassVar[str] = "TTS"

    sample_rate: int = 24000
    """Samples per second of the audio :meth:`synthesize` returns."""

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        """Audio for ``text``: one or more 1-D float32 arrays at :attr:`sample_rate`.

        Return several parts when the engine splits the text (the host trims each). Run
        blocking work with ``await self.clock.run_sync(...)``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement synthesize()")
