"""The recent live audio of the user, by media time, for transcribing a turn as a whole."""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

__all__ = ["JITTER", "MAX_GAP", "TurnAudio"]

JITTER = 0.01
"""Seconds a frame may start off its predecessor's end and still follow it directly."""
MAX_GAP = 1.0
"""The longest gap filled with silence; a longer one starts afresh."""


class TurnAudio:
    """The last ``seconds`` of 16 kHz mono audio, addressed by media time (bounded memory).

    >>> audio = TurnAudio(seconds=2.0)
    >>> audio.add(0.0, np.ones(16000, np.int16)); audio.add(1.0, np.zeros(16000, np.int16))
    >>> len(audio.clip(0.5, 1.5)), audio.covers(0.5, 1.5), audio.covers(0.5, 2.5)
    (16000, True, False)
    """

    def __init__(self, *, seconds: float, rate: int = 16000) -> None:
        self.rate = rate
        self.limit = round(seconds * rate)
        self._frames: deque[tuple[float, npt.NDArray[np.int16]]] = deque()
        self._samples = 0

    @property
    def start(self) -> float:
        """Media time of the oldest sample kept (``inf`` when empty)."""
        return self._frames[0][0] if self._frames else float("inf")

    @property
    def end(self) -> float:
        """Media time just after the newest sample kept (``-inf`` when empty)."""
        if not self._frames:
            return float("-inf")
        return self._frames[0][0] + self._samples / self.rate

    def add(self, pts: float, pcm: npt.NDArray[np.int16]) -> None:
        """Keep ``pcm`` (1-D) starting at media time ``pts``; forget the oldest beyond the
        limit.

        Frames are laid end to end: a resampler's frames may start a few samples off their
        predecessor's end (up to :data:`JITTER`), which is not a gap. A real gap of up to
        :data:`MAX_GAP` (frames dropped on a full edge) is filled with silence; a longer
        one, or a frame from the past (a restart), starts afresh.
        """
        if self._frames:
            gap = pts - self.end
            if gap < -JITTER or gap > MAX_GAP:
                self.clear()
            elif gap > JITTER:
                silence = np.zeros(round(gap * self.rate), np.int16)
                self._frames.append((self.end, silence))
                self._samples += len(silence)
            if self._frames:
                pts = self.end
        self._frames.append((pts, pcm))
        self._samples += len(pcm)
        while self._frames and self._samples - len(self._frames[0][1]) >= self.limit:
            self._samples -= len(self._frames.popleft()[1])

    def clear(self) -> None:
        """Forget everything."""
        self._frames.clear()
        self._samples = 0

    def covers(self, start: float, end: float) -> bool:
        """Whether every sample from ``start`` to ``end`` is kept."""
        tolerance = 1.5 / self.rate
        return self.start <= start + tolerance and self.end >= end - tolerance

    def clip(self, start: float, end: float) -> npt.NDArray[np.int16]:
        """The samples from media time ``start`` to ``end`` that are kept."""
        if not self._frames or end <= start:
            return np.zeros(0, np.int16)
        origin = self.start
        audio = np.concatenate([pcm for _, pcm in self._frames])
        a = max(0, round((start - origin) * self.rate))
        b = max(a, round((end - origin) * self.rate))
        return audio[a:b]
