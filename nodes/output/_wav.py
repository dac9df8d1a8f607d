"""A 16-bit mono WAV recording laid out on the clock's timeline (silence where nothing plays)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from voicegraph.graph import ConfigError
from voicegraph.nodes._files import PendingFile

__all__ = ["TimelineWav"]

DEFAULT_RATE = 24000
"""The file's rate when nothing was played (the rate of hibari, the default TTS)."""
_CHUNK = 1 << 16
_HEADER = 44
_MAX_DATA = 0xFFFFFFFF - 36  # the RIFF size field is 32 bits: about 24 h at 24 kHz


def _header(rate: int, data_bytes: int) -> bytes:
    """The 44-byte header of a 16-bit mono PCM WAV holding ``data_bytes`` of samples."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, rate, 2 * rate, 2, 16,
        b"data", data_bytes,
    )  # fmt: skip


class TimelineWav:
    """Write audio at given clock times into one continuous 16-bit mono WAV.

    Sample ``i`` of the file is clock time ``i / rate``: time 0 of the file is time 0 of the
    run's clock. The rate is the first written frame's rate; later audio at another rate is
    resampled (linear interpolation), multi-channel audio is down-mixed.

    The samples go to a hidden temporary file beside ``path``; :meth:`close` moves it over
    ``path`` (``commit=True``) or removes it, leaving ``path`` as it was (``commit=False``).
    An existing file at ``path`` is never truncated or half-written.

    Raises:
        ConfigError: ``path`` is a folder, its folder does not exist or is not writable.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._pending = PendingFile(self.path, "AudioOutput")
        try:
            self._file: IO[bytes] | None = self._pending.path.open("wb")
            self._file.write(_header(DEFAULT_RATE, 0))  # patched by close()
        except OSError as exc:
            self._pending.discard()
            raise ConfigError(f"AudioOutput: cannot write {str(self.path)!r} ({exc})") from None
        self.rate: int | None = None
        self.written = 0  # samples in the file
        self._soft_from: int | None = None  # where the soft audio at the end begins

    def write(
        self, start: float, pcm: npt.NDArray[np.int16], sample_rate: int, *, soft: bool = False
    ) -> None:
        """Write ``pcm`` so that it starts at clock time ``start``; silence fills any gap.

        ``soft`` audio (background sound) may be overwritten by the next write that starts
        inside it; other audio is never overwritten (an overlapping write is trimmed)."""
        if self._file is None:
            return
        mono = pcm.astype(np.float64).mean(axis=1) if pcm.ndim == 2 else pcm.astype(np.float64)
        rate = self._open(sample_rate)
        if sample_rate != rate and len(mono):
            n = round(len(mono) * rate / sample_rate)
            mono = np.interp(np.arange(n) * sample_rate / rate, np.arange(len(mono)), mono)
        at = round(start * rate)
        samples = np.clip(np.round(mono), -32768, 32767).astype("<i2")
        soft_from, self._soft_from = self._soft_from, None
        if soft_from is not None and soft_from <= at < self.written:  # replace soft audio
            self._file.seek(_HEADER + 2 * at)
            self._file.write(samples.tobytes())
            end = at + len(samples)
            if end < self.written:  # the rest stays soft
                self._soft_from = end
            self.written = max(self.written, end)
            self._file.seek(_HEADER + 2 * self.written)
            if soft:
                self._soft_from = soft_from
            return
        if at > self.written:
            self._silence(at - self.written)
        elif at < self.written:  # rounding overlap: never shift the timeline
            samples = samples[self.written - at :]
        if soft:
            self._soft_from = self.written if soft_from is None else soft_from
        self._file.write(samples.tobytes())
        self.written += len(samples)

    def pad_to(self, t: float) -> None:
        """Write silence up to clock time ``t``."""
        if self._file is None:
            return
        rate = self._open(None)
        at = round(t * rate)
        if at > self.written:
            self._silence(at - self.written)

    def close(self, commit: bool = True) -> None:
        """Finish the file and move it into place, or (``commit=False``) drop it (idempotent).

        Raises:
            ConfigError: the finished file cannot be moved into place (it is kept beside it).
        """
        file, self._file = self._file, None
        if file is None:
            return
        try:
            with file:
                if commit:
                    file.seek(0)
                    file.write(_header(self._open(None), min(2 * self.written, _MAX_DATA)))
        except OSError as exc:
            self._pending.discard()
            raise ConfigError(
                f"AudioOutput: cannot finish the recording {str(self.path)!r} ({exc}); the "
                "file there (if any) is unchanged"
            ) from None
        if commit:
            self._pending.commit()
        else:
            self._pending.discard()

    def _open(self, sample_rate: int | None) -> int:
        if self.rate is None:
            self.rate = sample_rate or DEFAULT_RATE
        return self.rate

    def _silence(self, count: int) -> None:
        assert self._file is not None
        zeros: Any = np.zeros(min(count, _CHUNK), "<i2").tobytes()
        left = count
        while left > 0:
            n = min(left, _CHUNK)
            self._file.write(zeros[: 2 * n])
            left -= n
        self.written += count
