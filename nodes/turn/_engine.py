"""The :class:`TurnEngine` interface: how likely is it that the user has finished?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from voicegraph.graph import Engine

__all__ = ["TurnEngine"]


class TurnEngine(Engine):
    """An end-of-turn model as a :class:`~voicegraph.nodes.turn.TurnDetector` calls it.

    Implement :meth:`end_of_turn_probability`. The detector asks once per transcript after
    the VAD reports the end of speech, and waits ``max_endpointing_delay`` instead of
    ``min_endpointing_delay`` when the answer is below its ``unlikely_threshold``. Text
    engines read the transcript; audio engines (e.g. Smart Turn) set :attr:`uses_audio`, and
    the detector then passes the user's recent audio.
    """

    kind: ClassVar[str] = "turn"
    uses_audio: ClassVar[bool] = False
    """Whether the detector should keep the user's audio for :meth:`end_of_turn_probability`."""
    audio_seconds: ClassVar[float] = 8.0
    """How much of the user's most recent audio an audio engine gets (16 kHz mono)."""
    unlikely_threshold: ClassVar[float] = 0.15
    """Below this probability the turn is unlikely to be over (the detector's default for
    this engine: each model's probabilities have their own scale)."""
    likely_threshold: ClassVar[float | None] = None
    """At or above this probability the turn is surely over, and the detector uses its
    ``quick_endpointing_delay`` (``None``: the engine is never that sure)."""

    async def end_of_turn_probability(
        self,
        text: str,
        *,
        audio: npt.NDArray[np.int16] | None = None,
        chat: Sequence[tuple[str, str]] | None = None,
    ) -> float:
        """P(the user has finished their turn), in [0, 1].

        Args:
            text: what the user said since the last turn (final transcripts, joined).
            audio: the user's most recent audio, 16 kHz mono, at most :attr:`audio_seconds`
                (given only when :attr:`uses_audio` is set).
            chat: the conversation before this turn as ``(role, text)`` pairs, oldest first,
                when the caller has it (the ``TurnDetector`` node does not).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement end_of_turn_probability()")
