"""Audio helpers of the TTS host: silence trimming and linear resampling of float audio."""

from __future__ import annotations

import numpy as np

from ._engine import FloatAudio

__all__ = [
    "LEAD_MARGIN",
    "ONSET_BELOW_PEAK",
    "ONSET_DB",
    "TAIL_MARGIN",
    "resample_linear",
    "trim_silence",
]

_WINDOW = 0.01
"""Seconds per analysis window of :func:`trim_silence`."""
LEAD_MARGIN = 0.01
"""Seconds kept before the onset window (the onset's quiet attack)."""
_RAMP = 0.005
"""Seconds of raised-cosine fade-in at the start of the kept lead margin (no click)."""
ONSET_DB = -40.0
"""Level (dBFS) of the window that starts the speech (see :func:`trim_silence`)."""
ONSET_BELOW_PEAK = 20.0
"""For quiet speech: dB below the loudest window that starts it, if lower than ONSET_DB."""
TAIL_MARGIN = 0.05
"""Seconds kept after the last window above the threshold (the decay of the last sound)."""


def trim_silence(
    audio: FloatAudio,
    sample_rate: int,
    threshold_db: float = -50.0,
    onset_db: float = ONSET_DB,
    onset_below_peak: float = ONSET_BELOW_PEAK,
) -> FloatAudio:
    """Cut leading and trailing silence from mono float audio in [-1, 1].

    Levels are RMS over 10 ms windows. The audio starts ``LEAD_MARGIN`` (10 ms) before the
    **onset**: the first window above ``onset_db`` (-40 dBFS, audible) or, for quiet speech,
    within ``onset_below_peak`` (20 dB) of the loudest window, and never below
    ``threshold_db``; the first 5 ms are faded in (raised cosine), so the cut never clicks.
    It ends ``TAIL_MARGIN`` (50 ms) after the last window above ``threshold_db``. All-silent
    audio gives an empty array.

    Why: a synthesized sentence often starts with a breath or a weak consonant between -50
    and -40 dBFS (hibari: 10-70 ms of it), which a listener does not hear as the start of
    the reply; only that inaudible part is dropped (10 ms of it stay as the attack), so the
    first 20 ms frame is audible or nearly (the 10 ms onset window above -40 dBFS plus the
    quieter lead: -41 dBFS at worst on hibari), the second always.

    Args:
        audio: 1-D float samples.
        sample_rate: samples per second.
        threshold_db: level in dBFS below which a window counts as silence (default -50).
        onset_db: level in dBFS of the onset window (default -40; ``threshold_db`` or lower:
            the first window above ``threshold_db``).
        onset_below_peak: dB below the loudest window that is also an onset (default 20).
    """
    window = max(1, round(sample_rate * _WINDOW))
    n = -(-len(audio) // window)
    flat = np.zeros(n * window, np.float64)
    flat[: len(audio)] = audio
    rms = np.sqrt(np.mean(flat.reshape(n, window) ** 2, axis=1))
    floor = 10 ** (threshold_db / 20)
    loud = np.nonzero(rms > floor)[0]
    if not len(loud):
        return audio[:0]
    onset_level = max(
        floor, min(float(rms.max()) * 10 ** (-onset_below_peak / 20), 10 ** (onset_db / 20))
    )
    onset = int(np.nonzero(rms >= onset_level)[0][0])
    margin = round(LEAD_MARGIN * sample_rate)
    start = max(0, onset * window - margin)
    end = min(len(audio), (int(loud[-1]) + 1) * window + round(TAIL_MARGIN * sample_rate))
    out = np.array(audio[start:end], copy=True)
    ramp = min(round(_RAMP * sample_rate), onset * window - start)
    if ramp > 0:
        out[:ramp] *= (0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)).astype(out.dtype)
    return out


def resample_linear(audio: FloatAudio, rate: int, target: int) -> FloatAudio:
    """Resample mono float audio by linear interpolation (``audio`` itself if rates match)."""
    audio = audio.reshape(-1)
    if rate == target or not len(audio):
        return audio
    n = max(1, round(len(audio) * target / rate))
    positions = np.arange(n) * (rate / target)
    out: FloatAudio = np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)
    return out
