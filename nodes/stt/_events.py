"""The control event that tells an STT host where the user's next turn starts."""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.graph import Event

__all__ = ["TurnBoundary"]


@dataclass(frozen=True, slots=True)
class TurnBoundary(Event):
    """The user's turn so far ended (committed or cleared) at media time ``pts``.

    A :class:`~voicegraph.nodes.turn.TurnDetector` sends it on ``boundaries`` to the
    :class:`~voicegraph.nodes.stt.STTNode`'s ``boundaries`` input: later speech is
    transcribed without the audio before ``pts``.
    """

    pts: float
