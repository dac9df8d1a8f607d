"""Recordings the command line writes: the reply aligned with the input, both as stereo WAV.

The agent's recording (``AudioOutput(path=...)``) starts at clock time 0, before the models
loaded; the input started playing at clock time ``origin``. Dropping ``origin`` seconds from
the recording puts sample ``i`` of the reply at the same moment as sample ``i`` of the input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["align_recording", "read_mono_wav", "stereo_conversation", "write_wav"]

Samples = npt.NDArray[np.int16]


def read_mono_wav(path: str | Path) -> tuple[Samples, int]:
    """A WAV file's samples as mono int16 (channels averaged) and its rate."""
    import soundfile

    data, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    mono = data[:, 0] if data.shape[1] == 1 else np.round(data.mean(axis=1))
    return np.asarray(mono, dtype=np.int16), int(rate)


def align_recording(recording: Samples, rate: int, origin: float) -> Samples:
    """The recording from clock time ``origin`` on (silence first if ``origin`` < 0)."""
    skip = round(origin * rate)
    if skip >= 0:
        return recording[skip:]
    return np.concatenate([np.zeros(-skip, np.int16), recording])


def _resample(samples: Samples, rate: int, to: int) -> Samples:
    if rate == to or not len(samples):
        return samples
    n = round(len(samples) * to / rate)
    x = np.interp(np.arange(n) * rate / to, np.arange(len(samples)), samples.astype(np.float64))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def stereo_conversation(user: Samples, user_rate: int, agent: Samples, agent_rate: int) -> tuple[
    npt.NDArray[np.int16], int
]:  # fmt: skip
    """Both sides as stereo int16 (user left, agent right) at the higher of the two rates.

    The two must be aligned (sample 0 of each is the same moment); the shorter is padded
    with silence."""
    rate = max(user_rate, agent_rate)
    left, right = _resample(user, user_rate, rate), _resample(agent, agent_rate, rate)
    stereo = np.zeros((max(len(left), len(right)), 2), np.int16)
    stereo[: len(left), 0] = left
    stereo[: len(right), 1] = right
    return stereo, rate


def write_wav(path: str | Path, samples: npt.NDArray[np.int16], rate: int) -> None:
    """Write 16-bit PCM (mono, or stereo given as ``(n, 2)``)."""
    import soundfile

    soundfile.write(str(path), samples, rate, subtype="PCM_16", format="WAV")
