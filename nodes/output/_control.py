"""Events that pause and resume an :class:`~voicegraph.nodes.output.AudioOutput`."""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.graph import Event

__all__ = ["PausePlayout", "ResumePlayout"]


@dataclass(frozen=True, slots=True)
class PausePlayout(Event):
    """Pause the reply being played (e.g. the user started talking over it).

    Attributes:
        seq: increases with every pause/resume a sender sends; an output ignores an event
            whose ``seq`` is not newer than the last one it applied (a copy that arrived
            late by another path).
    """

    seq: int = 0


@dataclass(frozen=True, slots=True)
class ResumePlayout(Event):
    """Resume a paused reply where it stopped (the interruption was a false alarm)."""

    seq: int = 0
