"""Events that pause and resume an :class:`~voicegraph.nodes.output.AudioOutput`."""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.graph import Event

__all__ = ["PausePlayout", "ResumePlayout"]


@dataclass(frozen=True, slots=True)
class PausePlayout(Event):
    """Pause the reply being played (e.g. the user started talking over it).

    Attributes:
        seq: the sender's count of pauses and resumes, for logs and observers. An output
            needs none to ignore a copy that arrives late by a second path: the runner
            delivers each send to a node once.
    """

    seq: int = 0


@dataclass(frozen=True, slots=True)
class ResumePlayout(Event):
    """Resume a paused reply where it stopped (the interruption was a false alarm).

    Attributes:
        seq: the sender's count of pauses and resumes (see :class:`PausePlayout`).
    """

    seq: int = 0
