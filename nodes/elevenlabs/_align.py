"""Character alignment to word-tagged audio: what makes barge-in truncation word-accurate.

ElevenLabs returns, with the audio, when each character starts. :class:`WordAligner` cuts the
streamed PCM at word starts and tags every piece (a :class:`~voicegraph.nodes.tts.SpeechPiece`)
with its word, its offset in that word's audio and the word's duration. Emitted by the
:class:`~voicegraph.nodes.tts.TTSNode` as :class:`~voicegraph.graph.SpeechAudio` (``text`` =
the word), an :class:`~voicegraph.nodes.output.AudioOutput` then counts a word as heard
exactly when its audio has played, so the ``PlayoutMark`` of an interrupt carries the words
really spoken, not an estimate in proportion to the sentence's length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voicegraph.nodes.tts import SpeechPiece

__all__ = ["WordAligner"]

_RELATIVE_SLACK = 0.05
"""Seconds of tolerance when deciding that a chunk's times restart at its own start."""


@dataclass(slots=True)
class _Word:
    text: str
    start: int  # sample index


class WordAligner:
    """Cut streamed PCM into word-tagged pieces of at most ``frame_samples`` samples.

    Feed audio and alignment with :meth:`add` as they arrive, take the pieces that are ready
    with :meth:`ready`, and the rest with :meth:`finish`. A word's piece is ready once the
    next word's start is known (that fixes the word's duration) and its audio has arrived;
    the last word waits for :meth:`finish`. Audio before the first word belongs to the first
    word, pauses after a word to that word. Without any alignment the whole audio is one
    unit tagged with the ``text`` given to :meth:`finish`.

    Alignment times may be absolute (from the start of the stream) or relative to the chunk
    they came with (as the WebSocket API documents); a chunk whose first time is earlier than
    the audio already received is taken as relative and shifted.

    >>> a = WordAligner(10, frame_samples=4)
    >>> a.add(np.zeros(10, np.int16), list("hi yo"), [0.0, 0.1, 0.2, 0.5, 0.6])
    >>> [(p.text, p.offset, p.duration, len(p.pcm)) for p in a.ready()]
    [('hi', 0.0, 0.5, 4), ('hi', 0.4, 0.5, 1)]
    >>> [(p.text, p.offset, p.duration, len(p.pcm)) for p in a.finish()]
    [('yo', 0.0, 0.5, 4), ('yo', 0.4, 0.5, 1)]
    """

    def __init__(self, sample_rate: int, frame_samples: int) -> None:
        self.sample_rate = sample_rate
        self.frame_samples = max(1, frame_samples)
        self._buffer = np.zeros(0, np.int16)
        self._buffer_start = 0  # sample index of _buffer[0] (= samples already emitted)
        self._received = 0
        self._words: list[_Word] = []
        self._in_word = False
        self._next = 0  # index of the word being emitted

    @property
    def received_seconds(self) -> float:
        """Seconds of audio received so far."""
        return self._received / self.sample_rate

    def add(
        self,
        pcm: npt.NDArray[np.int16],
        chars: Sequence[str] = (),
        starts: Sequence[float] = (),
    ) -> None:
        """Add a chunk of mono int16 audio and the characters (with start seconds) it speaks."""
        chunk_start = self._received / self.sample_rate
        if len(chars) and len(starts) and starts[0] + _RELATIVE_SLACK < chunk_start:
            starts = [s + chunk_start for s in starts]
        self._buffer = np.concatenate([self._buffer, np.asarray(pcm, np.int16).reshape(-1)])
        self._received += len(pcm)
        for char, start in zip(chars, starts, strict=False):
            if char.isspace():
                self._in_word = False
            elif self._in_word:
                self._words[-1].text += char
            else:
                sample = 0 if not self._words else round(start * self.sample_rate)
                previous = self._words[-1].start if self._words else 0
                self._words.append(_Word(char, max(sample, previous)))
                self._in_word = True

    def ready(self) -> list[SpeechPiece]:
        """Pieces of words whose duration is known, as far as their audio has arrived."""
        out: list[SpeechPiece] = []
        while self._next + 1 < len(self._words):
            start, end = self._bounds(self._next, self._words[self._next + 1].start)
            out += self._cut(self._next, start, end, min(end, self._received))
            if self._buffer_start < end:
                break
            self._next += 1
        return out

    def finish(self, text: str = "") -> list[SpeechPiece]:
        """Everything left: the last word runs to the end of the audio."""
        if not self._words:
            if not self._received:
                return []
            self._words.append(_Word(text.strip(), 0))
        out = self.ready()
        while self._next < len(self._words):
            last = self._next + 1 == len(self._words)
            following = self._received if last else self._words[self._next + 1].start
            start, end = self._bounds(self._next, max(following, self._buffer_start))
            out += self._cut(self._next, start, end, end)
            self._next += 1
        return out

    # ------------------------------------------------------------------ internals

    def _bounds(self, index: int, end: int) -> tuple[int, int]:
        start = 0 if index == 0 else self._words[index].start
        return start, max(start, end)

    def _cut(self, index: int, start: int, end: int, until: int) -> list[SpeechPiece]:
        text = self._words[index].text
        duration = (end - start) / self.sample_rate
        out: list[SpeechPiece] = []
        while self._buffer_start < until:
            size = min(self.frame_samples, until - self._buffer_start)
            pcm = self._buffer[:size].reshape(-1, 1)
            if len(pcm) < size:  # the audio ended before the word did
                break
            offset = (self._buffer_start - start) / self.sample_rate
            out.append(SpeechPiece(pcm, text, offset, duration))
            self._buffer = self._buffer[size:]
            self._buffer_start += size
        return out
