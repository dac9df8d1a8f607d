"""Whisper on a window fitted to the speech: the encoder sees a few seconds, not 30.

Whisper pads every input to 30 s and its encoder costs the same for a 2 s question as for 30 s
of speech: about 0.43 s of the 0.5 s a short utterance takes with tiny.en on 2 cores. The
CTranslate2 encoder also accepts a shorter window (whisper.cpp's ``audio_ctx``): fitted to the
speech plus a margin, the same question takes about 0.15 s. Decoding is greedy without
timestamps. A short window makes Whisper prone to repeating what it heard ("What is the
capital of France? What is the capital of France?"), measured on a 2-3 s question: a
margin of 3 s and a window of at least 5 s avoid it, the decoder may write at most
:data:`TOKENS_PER_SECOND` tokens per second of audio, and a result that still looks broken
(a repeated phrase, no end token, a very low log probability) is redone on the full 30 s
window by the caller, as faster-whisper's temperature fallback would.
"""

from __future__ import annotations

import gzip
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FULL_WINDOW",
    "FittedResult",
    "recognise_fitted",
    "repeats_phrase",
    "window_frames",
]

FRAMES_PER_SECOND = 100
"""Mel frames per second of 16 kHz audio (hop 160)."""
FULL_WINDOW = 3000
"""Mel frames of Whisper's 30 s window."""
MIN_WINDOW = 500
"""The shortest window used (5 s): on shorter ones tiny.en starts repeating itself."""
TOKENS_PER_SECOND = 8
"""The most tokens a second of speech can need (fast speech is ~4 words/s)."""


@dataclass(frozen=True, slots=True)
class FittedResult:
    """One greedy decode on a fitted window.

    Attributes:
        text: the recognised text (stripped).
        no_speech_prob: Whisper's probability that the window holds no speech.
        avg_logprob: mean log probability per token.
        compression_ratio: how compressible the text is (above ~2.4: a repetition loop).
        finished: whether the decoder ended the text itself (not cut at the token limit).
    """

    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
    finished: bool = True

    def suspicious(self) -> bool:
        """Whether to redo it on the full window: faster-whisper's fallback thresholds, a
        text cut at the token limit, or a phrase said over and over
        (:func:`repeats_phrase`)."""
        return (
            not self.finished
            or self.compression_ratio > 2.4
            or (self.avg_logprob < -1.0 and bool(self.text))
            or repeats_phrase(self.text)
        )


def repeats_phrase(text: str) -> bool:
    """Whether ``text`` says a phrase over and over, as Whisper does on a short window: a
    phrase of two or more words twice in a row, one word three times, or nothing but one
    word said more than once ("5 5" for a spoken digit; "bye bye" is redone too: only
    slower).

    >>> repeats_phrase("What is it? What is it?"), repeats_phrase("in 1813, in 1813")
    (True, True)
    >>> repeats_phrase("two, two, two"), repeats_phrase("5 5"), repeats_phrase("I had had it")
    (True, True, False)
    """
    words = re.findall(r"[a-z0-9']+", text.lower())
    if len(words) >= 2 and len(set(words)) == 1:
        return True
    for k in range(1, len(words) // 2 + 1):
        times = 3 if k == 1 else 2
        for i in range(len(words) - times * k + 1):
            if all(words[i : i + k] == words[i + j * k : i + (j + 1) * k] for j in range(times)):
                return True
    return False


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(gzip.compress(data)))


def window_frames(samples: int, margin: float) -> int:
    """Mel frames for ``samples`` of 16 kHz audio plus ``margin`` seconds, within
    [:data:`MIN_WINDOW`, :data:`FULL_WINDOW`], rounded up to a multiple of 100."""
    frames = math.ceil(samples / 160 + margin * FRAMES_PER_SECOND)
    frames = 100 * math.ceil(frames / 100)
    return max(MIN_WINDOW, min(FULL_WINDOW, frames))


def recognise_fitted(
    model: Any,
    audio: npt.NDArray[np.float32],
    *,
    language: str,
    margin: float,
    beam_size: int = 1,
) -> FittedResult:
    """Transcribe ``audio`` (16 kHz float32, mono) on a window fitted to it (blocking).

    ``model`` is a ``faster_whisper.WhisperModel``; its CTranslate2 model, feature extractor
    and tokenizer are used directly. Audio longer than 30 s is cut to its first 30 s (the
    caller uses the full path for that).
    """
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

    frames = window_frames(len(audio), margin)
    features = model.feature_extractor(audio)[:, :frames]
    if features.shape[1] < frames:
        features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
    encoded = model.model.encode(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])), to_cpu=False
    )
    multilingual = bool(model.model.is_multilingual)
    tokenizer = Tokenizer(
        model.hf_tokenizer,
        multilingual,
        task="transcribe",
        language=language if multilingual else None,
    )
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    limit = min(448, len(prompt) + 10 + math.ceil(len(audio) / 16000 * TOKENS_PER_SECOND))
    result = model.model.generate(
        encoded,
        [prompt],
        beam_size=beam_size,
        max_length=limit,
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=[-1],
    )[0]
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    finished = len(prompt) + len(tokens) < limit
    text = tokenizer.decode(tokens).strip()
    avg_logprob = float(result.scores[0]) * len(tokens) / (len(tokens) + 1)
    return FittedResult(
        text,
        float(result.no_speech_prob),
        avg_logprob,
        _compression_ratio(text),
        finished,
    )
