"""The VAD state machine: speech probabilities per window in, speech events and segments out.

It is pure Python/numpy (no model), so its decisions depend only on the probabilities and the
media time (``pts``) of each window, never on a clock: a file run gives the same result every
time.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

from voicegraph.graph import Event, SpeechSegment, SpeechStarted, SpeechStopped

from ._events import SpeechPaused, SpeechResumed

__all__ = ["Segmenter"]

_EPS = 1e-9


class Segmenter:
    """Turn per-window speech probabilities into utterances, with LiveKit's hysteresis rules.

    A window counts as speech when ``prob >= activation`` or, while speaking,
    ``prob > deactivation``. Speech starts after ``min_speech`` seconds of consecutive speech
    windows and stops after ``min_silence`` seconds of consecutive non-speech windows.

    Each utterance becomes a :class:`SpeechSegment` holding ``prefix_padding`` seconds of audio
    before the speech, the speech, and the trailing silence that confirmed its end. Its length is
    capped at ``max_buffered`` seconds: a longer utterance is emitted in consecutive pieces.

    Args:
        sample_rate: samples per second of the windows.
        window: samples per window.
        activation: probability at or above which a window is speech.
        deactivation: probability above which a window stays speech while speaking.
        min_speech: seconds of speech needed to start an utterance.
        min_silence: seconds of silence needed to end it.
        prefix_padding: seconds of audio kept before the speech start.
        max_buffered: the longest segment, in seconds.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        window: int,
        activation: float,
        deactivation: float,
        min_speech: float,
        min_silence: float,
        prefix_padding: float,
        max_buffered: float,
    ) -> None:
        self.sample_rate = sample_rate
        self.window = window
        self.window_duration = window / sample_rate
        self.activation = activation
        self.deactivation = deactivation
        self.min_speech = min_speech
        self.min_silence = min_silence
        self.prefix_samples = round(prefix_padding * sample_rate)
        self.max_samples = max(window, round(max_buffered * sample_rate))
        keep = math.ceil((prefix_padding + min_speech) / self.window_duration) + 2
        # Recent windows (pts, pcm), bounded: the source of the prefix padding.
        self._recent: deque[tuple[float, npt.NDArray[np.int16]]] = deque(maxlen=keep)
        self.speaking = False
        self.speech_start = 0.0
        self._speech_run = 0.0
        self._silence_run = 0.0
        self._run_start = 0.0
        self._silence_start = 0.0
        self._piece: list[npt.NDArray[np.int16]] = []
        self._piece_samples = 0
        self._piece_pts = 0.0

    def reset(self) -> None:
        """Forget everything (a new, unrelated stream follows)."""
        self._recent.clear()
        self.speaking = False
        self._speech_run = self._silence_run = 0.0
        self._piece, self._piece_samples = [], 0

    def push(
        self, pts: float, pcm: npt.NDArray[np.int16], prob: float
    ) -> list[Event | SpeechSegment]:
        """Take one window (1-D int16 ``pcm`` starting at media time ``pts``) and its probability.

        Returns the events and segments this window caused, in order.
        """
        out: list[Event | SpeechSegment] = []
        self._recent.append((pts, pcm))
        wd = self.window_duration
        if not self.speaking:
            if prob >= self.activation:
                if self._speech_run == 0.0:
                    self._run_start = pts
                self._speech_run += wd
                if self._speech_run + _EPS >= self.min_speech:
                    self._start(out)
            else:
                self._speech_run = 0.0
            return out
        self._append(pcm, out)
        if prob >= self.activation or prob > self.deactivation:
            if self._silence_run > 0.0:
                out.append(SpeechResumed(pts))
            self._silence_run = 0.0
            return out
        if self._silence_run == 0.0:
            self._silence_start = pts
            out.append(SpeechPaused(pts))
        self._silence_run += wd
        if self._silence_run + _EPS >= self.min_silence:
            self._stop(self._silence_start, out)
        return out

    def finish(
        self, end_pts: float, tail: npt.NDArray[np.int16] | None = None
    ) -> list[Event | SpeechSegment]:
        """End of stream at media time ``end_pts``: close an ongoing utterance.

        ``tail`` holds the samples after the last full window (too few to run the model on).
        """
        out: list[Event | SpeechSegment] = []
        if self.speaking:
            if tail is not None and len(tail):
                self._append(tail, out)
            end = self._silence_start if self._silence_run > 0.0 else end_pts
            self._stop(end, out)
        self._speech_run = 0.0
        return out

    # ------------------------------------------------------------------ internals

    def _start(self, out: list[Event | SpeechSegment]) -> None:
        self.speaking = True
        self.speech_start = self._run_start
        self._silence_run = 0.0
        out.append(SpeechStarted(self.speech_start))
        # The new segment: the recent windows, trimmed to prefix_padding before the speech.
        first_pts = self._recent[0][0]
        audio = np.concatenate([w for _, w in self._recent])
        offset = round((self.speech_start - first_pts) * self.sample_rate) - self.prefix_samples
        offset = max(0, offset)
        self._piece = []
        self._piece_samples = 0
        self._piece_pts = first_pts + offset / self.sample_rate
        self._append(audio[offset:], out)

    def _append(self, pcm: npt.NDArray[np.int16], out: list[Event | SpeechSegment]) -> None:
        """Add audio to the current piece; emit full pieces (bounded memory)."""
        while len(pcm):
            room = self.max_samples - self._piece_samples
            take = pcm[:room]
            self._piece.append(take)
            self._piece_samples += len(take)
            pcm = pcm[room:]
            if self._piece_samples >= self.max_samples:
                piece_end = self._piece_pts + self._piece_samples / self.sample_rate
                out.append(self._segment(piece_end))

    def _stop(self, speech_end: float, out: list[Event | SpeechSegment]) -> None:
        self.speaking = False
        out.append(SpeechStopped(speech_end, duration=max(0.0, speech_end - self.speech_start)))
        if self._piece_samples and speech_end > self._piece_pts + _EPS:
            out.append(self._segment(speech_end))
        self._piece, self._piece_samples = [], 0
        self._speech_run = self._silence_run = 0.0

    def _segment(self, speech_end: float) -> SpeechSegment:
        """The current piece as a segment; a new piece starts right after it."""
        pcm = np.concatenate(self._piece).reshape(-1, 1)
        pts = self._piece_pts
        segment = SpeechSegment(
            pcm,
            self.sample_rate,
            pts=pts,
            speech_start=max(self.speech_start, pts),
            speech_end=speech_end,
        )
        self._piece_pts = pts + self._piece_samples / self.sample_rate
        self._piece, self._piece_samples = [], 0
        return segment
