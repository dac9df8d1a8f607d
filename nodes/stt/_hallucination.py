"""Rules that drop what Whisper says when there is no speech (its "hallucinations").

Whisper is a language model conditioned on audio: given silence, noise or a click it still
writes something, most often "you", "Thank you." or "Thanks for watching!" (subtitles in its
training data). Three rules, each with a reason:

1. **Whisper's own no-speech estimate.** Every decoding window comes with ``no_speech_prob``.
   If its mean over the recognised pieces (weighted by their duration) exceeds
   ``no_speech_threshold`` (0.6, Whisper's own default), the text is dropped. Unlike Whisper's
   built-in rule, a confident decoder (high log-probability) does not override this: a
   hallucination on silence is often decoded confidently.
2. **Known hallucination phrases on weak evidence.** A text that is exactly one of
   :data:`HALLUCINATIONS` (compared without case and punctuation) is dropped when the audio
   gives weak evidence of speech: less than ``max_duration`` (0.5 s) of detected speech, or a
   speech level below ``max_dbfs`` (-45 dBFS RMS). A clear, long enough "thank you" is kept.
   The list holds subtitle boilerplate, not backchannels ("okay", "yeah", "mm-hmm"), which
   matter for turn taking.
3. **No words.** A text with no letter or digit (".", "...", "♪") is empty.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["HALLUCINATIONS", "Piece", "filter_text", "level_dbfs", "normalize"]

HALLUCINATIONS: frozenset[str] = frozenset(
    {
        "you",
        "thank you",
        "thank you so much",
        "thank you very much",
        "thanks",
        "thanks for watching",
        "thank you for watching",
        "thanks for watching and please subscribe",
        "please subscribe",
        "like and subscribe",
        "subtitles by the amaraorg community",
        "bye",
        "bye bye",
    }
)
"""Phrases Whisper writes on non-speech (lower case, no punctuation)."""

_NON_WORD = re.compile(r"[^\w\s']|_")


@dataclass(frozen=True, slots=True)
class Piece:
    """One piece of Whisper output: its text, duration and no-speech probability."""

    text: str
    duration: float
    no_speech_prob: float


def normalize(text: str) -> str:
    """Lower case, punctuation removed, whitespace collapsed.

    >>> normalize("  Thanks for watching! ")
    'thanks for watching'
    """
    return " ".join(_NON_WORD.sub("", text.lower()).replace("'", "").split())


def level_dbfs(pcm: npt.NDArray[np.int16]) -> float:
    """RMS level of int16 audio in dBFS (-120.0 for digital silence or no samples)."""
    if pcm.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float64))))) / 32768.0
    return 20.0 * math.log10(rms) if rms > 1e-6 else -120.0


def filter_text(
    pieces: Sequence[Piece],
    *,
    speech_duration: float,
    speech_dbfs: float,
    no_speech_threshold: float = 0.6,
    max_duration: float = 0.5,
    max_dbfs: float = -45.0,
) -> str:
    """The transcript of ``pieces`` with the rules of this module applied ("" if dropped).

    Args:
        pieces: Whisper's output for one utterance.
        speech_duration: seconds of speech the VAD detected.
        speech_dbfs: the speech's RMS level in dBFS.
        no_speech_threshold: rule 1's threshold (0.6).
        max_duration: rule 2 applies below this much speech (0.5 s).
        max_dbfs: rule 2 applies below this level (-45.0 dBFS).
    """
    text = " ".join(p.text.strip() for p in pieces if p.text.strip())
    if not any(ch.isalnum() for ch in text):
        return ""
    total = sum(max(p.duration, 0.0) for p in pieces)
    if total > 0:
        mean_nsp = sum(p.no_speech_prob * max(p.duration, 0.0) for p in pieces) / total
    else:
        mean_nsp = sum(p.no_speech_prob for p in pieces) / len(pieces)
    if mean_nsp > no_speech_threshold:
        return ""
    weak = speech_duration < max_duration or speech_dbfs < max_dbfs
    if weak and normalize(text) in HALLUCINATIONS:
        return ""
    return text
