"""Finer-grained VAD events: silence began inside an utterance, or speech came back."""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.graph import Event

__all__ = ["SpeechPaused", "SpeechResumed"]


@dataclass(frozen=True, slots=True)
class SpeechPaused(Event):
    """While speaking, silence began at media time ``pts``.

    Not yet the end of the utterance: ``SpeechStopped`` follows once the silence has lasted
    the VAD's ``min_silence_duration``, unless speech comes back first (``SpeechResumed``).
    Lets a turn detector tell how long the user really spoke (e.g. a short "uh-huh" stays
    short, not stretched by the VAD's silence hangover).
    """

    pts: float


@dataclass(frozen=True, slots=True)
class SpeechResumed(Event):
    """Speech came back at media time ``pts`` after a :class:`SpeechPaused`, within the
    same utterance."""

    pts: float
