"""A 16-bit mono WAV recording laid out on the clock's timeline (silence where nothing plays)."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voicegraph.graph import ConfigError

__all__ = ["TimelineWav"]

DEFAULT_RATE = 24000
"""The file's rate when nothing was played (the rate of hibari, the default TTS)."""
_CHUNK = 1 << 16


class TimelineWav:
    """Write audio at given clock times into one continuous 16-bit mono WAV.

    Sample ``i`` of the file is clock time ``i / rate``: time 0 of the file is time 0 of the
    run's clock. The rate is the first written frame's rate; later audio at another rate is
    resampled (linear interpolation), multi-channel audio is down-mixed.

    Raises:
        ConfigError: the file cannot be created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: wave.Wave_write | None = wave.open(str(self.path), "wb")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(
                f"AudioOutput: cannot write the WAV file {str(self.path)!r} ({exc}); check that "
                "its folder exists and is writable"
            ) from None
        self.rate: int | None = None
        self.written = 0  # samples in the file

    def write(self, start: float, pcm: npt.NDArray[np.int16], sample_rate: int) -> None:
        """Write ``pcm`` so that it starts at clock time ``start``; silence fills any gap."""
        if self._file is None:
            return
        mono = pcm.astype(np.float64).mean(axis=1) if pcm.ndim == 2 else pcm.astype(np.float64)
        rate = self._open(sample_rate)
        if sample_rate != rate and len(mono):
            n = round(len(mono) * rate / sample_rate)
            mono = np.interp(np.arange(n) * sample_rate / rate, np.arange(len(mono)), mono)
        at = round(start * rate)
        if at > self.written:
            self._silence(at - self.written)
        elif at < self.written:  # rounding overlap: never shift the timeline
            mono = mono[self.written - at :]
        samples = np.clip(np.round(mono), -32768, 32767).astype("<i2")
        self._file.writeframes(samples.tobytes())
        self.written += len(samples)

    def pad_to(self, t: float) -> None:
        """Write silence up to clock time ``t``."""
        if self._file is None:
            return
        rate = self._open(None)
        at = round(t * rate)
        if at > self.written:
            self._silence(at - self.written)

    def close(self) -> None:
        """Finish the file (idempotent)."""
        if self._file is not None:
            self._open(None)
            self._file.close()
            self._file = None

    def _open(self, sample_rate: int | None) -> int:
        if self.rate is None:
            self.rate = sample_rate or DEFAULT_RATE
            assert self._file is not None
            self._file.setnchannels(1)
            self._file.setsampwidth(2)
            self._file.setframerate(self.rate)
        return self.rate

    def _silence(self, count: int) -> None:
        assert self._file is not None
        zeros: Any = np.zeros(min(count, _CHUNK), "<i2").tobytes()
        left = count
        while left > 0:
            n = min(left, _CHUNK)
            self._file.writeframes(zeros[: 2 * n])
            left -= n
        self.written += count
