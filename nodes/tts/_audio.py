"""Audio helpers of the TTS host: silence trimming and linear resampling of float audio."""

from __future__ import annotations

import numpy as np

from ._engine import FloatAudio

__all__ = ["LEAD_MARGIN", "TAIL_MARGIN", "resample_linear", "trim_silence"]

_WINDOW = 0.01
"""Seconds per analysis window of :func:`trim_silence`."""
LEAD_MARGIN = 0.01
"""Seconds kept before the first window above the threshold (the onset's quiet ramp)."""
TAIL_MARGIN = 0.05
"""Seconds kept after the last window above the threshold (the decay of the last sound)."""


def trim_silence(audio: FloatAudio, sample_rate: int, threshold_db: float = -50.0) -> FloatAudio:
    """Cut leading and trailing silence from mono float audio in [-1, 1].

    The audio is cut to the 10 ms windows whose RMS level is above ``threshold_db`` dBFS, plus
    ``LEAD_MARGIN`` (10 ms) before and ``TAIL_MARGIN`` (50 ms) after. All-silent audio gives
    an empty array.

    Args:
        audio: 1-D float samples.
        sample_rate: samples per second.
        threshold_db: level in dBFS below which a window counts as silence (default -50).
    """
    window = max(1, round(sample_rate * _WINDOW))
    n = -(-len(audio) // window)
    flat = np.zeros(n * window, np.float64)
    flat[: len(audio)] = audio
    blocks = flat.reshape(n, window)
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    loud = np.nonzero(rms > 10 ** (threshold_db / 20))[0]
    if not len(loud):
        return audio[:0]
    start = max(0, int(loud[0]) * window - round(LEAD_MARGIN * sample_rate))
    end = min(len(audio), (int(loud[-1]) + 1) * window + round(TAIL_MARGIN * sample_rate))
    return audio[start:end]


def resample_linear(audio: FloatAudio, rate: int, target: int) -> FloatAudio:
    """Resample mono float audio by linear interpolation (``audio`` itself if rates match)."""
    audio = audio.reshape(-1)
    if rate == target or not len(audio):
        return audio
    n = max(1, round(len(audio) * target / rate))
    positions = np.arange(n) * (rate / target)
    out: FloatAudio = np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)
    return out
