"""Open and decode WAV files with soundfile (libsndfile), refusing anything it would garble.

Accepted: a RIFF/RIFX WAV, WAVE_FORMAT_EXTENSIBLE, RF64 or Wave64 container holding
8/16/24/32-bit integer PCM, 32/64-bit float, or G.711 A-law / µ-law, at 8-48 kHz, any number
of channels. Refused with an :class:`~voicegraph.graph.InputError`: a missing or empty file, a
file with no samples, a truncated or corrupt header, another container (an MP3, FLAC or Ogg
file renamed ``.wav``), compressed codecs inside a WAV (ADPCM, GSM 6.10, G.721, MPEG), and
rates outside 8-48 kHz.

Conversion to int16 (samples are never truncated to garbage):

* 8/16-bit PCM and A-law/µ-law are read as int16 by libsndfile (exact);
* 24/32-bit PCM and float are read as float64 (libsndfile scales integers by 2^-(bits-1)),
  multiplied by 32768, rounded to the nearest integer and clipped to [-32768, 32767], so a
  float sample of 1.0 (or beyond) becomes 32767 and -1.0 becomes -32768;
* mixing down to mono averages the channels before rounding.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voicegraph.graph import InputError, MissingDependencyError

if TYPE_CHECKING:
    import soundfile

__all__ = ["MAX_RATE", "MIN_RATE", "WavReader", "open_wav"]

log = logging.getLogger("voicegraph.nodes.audio")

MIN_RATE = 8000
"""The lowest sample rate :class:`WavReader` accepts, in Hz."""
MAX_RATE = 48000
"""The highest sample rate :class:`WavReader` accepts, in Hz."""

_CONTAINERS = {"WAV", "WAVEX", "RF64", "W64"}
_EXACT_INT16 = {"PCM_S8", "PCM_U8", "PCM_16", "ULAW", "ALAW"}
_SCALED = {"PCM_24", "PCM_32", "FLOAT", "DOUBLE"}
_CONVERT = "convert it to 16-bit PCM WAV, e.g. `ffmpeg -i IN -ac 1 -c:a pcm_s16le OUT.wav`"
_MAGIC = {
    b"ID3": "an MP3 file",
    b"fLaC": "a FLAC file",
    b"OggS": "an Ogg file",
    b"FORM": "an AIFF file",
    b".snd": "an AU file",
    b"\x1aE\xdf\xa3": "a WebM/Matroska file",
}


def _sniff(head: bytes) -> str | None:
    """Name the kind of a non-WAV file from its first bytes, if recognisable."""
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "an MP3/AAC stream"
    if head[4:8] == b"ftyp":
        return "an MP4/M4A file"
    return None


class WavReader:
    """A validated WAV file, read block by block as int16 ``(samples, channels)`` arrays.

    Use :func:`open_wav` to create one. ``mono=True`` mixes the channels down to one.
    """

    def __init__(self, path: Path, file: soundfile.SoundFile, *, mono: bool) -> None:
        self.path = path
        self._file = file
        self.sample_rate: int = int(file.samplerate)
        self.source_channels: int = int(file.channels)
        self.channels: int = 1 if mono else self.source_channels
        self.frames: int = int(file.frames)
        self.subtype: str = str(file.subtype)
        self._mono = mono and self.source_channels > 1
        self._exact = self.subtype in _EXACT_INT16

    def read(self, count: int) -> npt.NDArray[np.int16]:
        """Read up to ``count`` samples per channel (fewer at the end; none once finished).

        Raises:
            InputError: if the file cannot be decoded at this point (e.g. it changed on disk).
        """
        try:
            if self._exact:
                block: npt.NDArray[np.int16] = self._file.read(count, dtype="int16", always_2d=True)
            else:
                data: npt.NDArray[np.float64] = self._file.read(
                    count, dtype="float64", always_2d=True
                )
        except Exception as exc:  # libsndfile errors (RuntimeError subclasses), I/O errors
            raise InputError(f"cannot decode WAV file '{self.path}': {exc}") from exc
        if self._exact:
            if not self._mono:
                return np.ascontiguousarray(block)
            data = block.mean(axis=1, dtype=np.float64, keepdims=True) / 32768.0
        elif self._mono:
            data = data.mean(axis=1, keepdims=True)
        return to_int16(data)

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    @property
    def closed(self) -> bool:
        """Whether the file is closed."""
        return bool(self._file.closed)


def to_int16(data: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.int16]:
    """Scale float samples in [-1, 1] to int16: times 32768, round to nearest, clip."""
    scaled = np.rint(data * 32768.0)
    np.clip(scaled, -32768, 32767, out=scaled)
    out: npt.NDArray[np.int16] = scaled.astype(np.int16)
    return out


def _import_soundfile() -> Any:
    try:
        import soundfile
    except ImportError as exc:  # also raised when libsndfile itself cannot be loaded
        raise MissingDependencyError("soundfile", what="reading WAV files") from exc
    return soundfile


def open_wav(path: str | Path, *, mono: bool) -> WavReader:
    """Open and validate a WAV file for reading.

    Args:
        path: the file.
        mono: mix all channels down to one.

    Raises:
        InputError: the file is missing, empty, truncated, not a WAV, in an unsupported
            encoding, has no samples, or its rate is outside 8-48 kHz. The message names the
            file and what is wrong.
    """
    path = Path(path)
    where = f"WAV file '{path}'"
    if not path.exists():
        raise InputError(f"{where} does not exist; check the path")
    if not path.is_file():
        raise InputError(f"{where} is not a regular file")
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise InputError(f"cannot read {where}: {exc.strerror or exc}") from exc
    if not head:
        raise InputError(f"{where} is empty (0 bytes)")
    kind = _sniff(head)
    if kind is not None:
        raise InputError(f"{where} is {kind}, not a WAV file (renamed?); {_CONVERT}")
    sf = _import_soundfile()
    try:
        file = sf.SoundFile(str(path))
    except Exception as exc:  # soundfile.LibsndfileError and friends
        reason = re.sub(r"^Error opening .*?: ", "", str(exc)).rstrip(".")
        if head.startswith((b"RIFF", b"RIFX", b"RF64")):
            what = (
                f"its header is truncated or corrupt (libsndfile: {reason}); the file may be "
                "incomplete (an interrupted copy or download): re-create it"
            )
        else:
            what = f"it is not a WAV file: no RIFF header (libsndfile: {reason}); {_CONVERT}"
        raise InputError(f"cannot open {where}: {what}") from None
    try:
        _validate(file, where)
    except BaseException:
        file.close()
        raise
    info = file.extra_info
    match = re.search(r"^data : (\d+) \(should be (\d+)\)", info, re.MULTILINE)
    if match and int(match.group(1)) > int(match.group(2)):
        log.warning(
            "%s is truncated: its header declares %s bytes of audio but only %s are present; "
            "reading what is there",
            where,
            match.group(1),
            match.group(2),
        )
    return WavReader(path, file, mono=mono)


def _validate(file: soundfile.SoundFile, where: str) -> None:
    if file.format not in _CONTAINERS:
        raise InputError(
            f"{where} is a {file.format_info} file, not a WAV file (renamed?); {_CONVERT}"
        )
    if file.subtype not in _EXACT_INT16 | _SCALED:
        raise InputError(
            f"{where} uses the {file.subtype_info} encoding, which WavSource does not "
            "support (it reads 8/16/24/32-bit integer PCM, 32/64-bit float and A-law/µ-law); "
            + _CONVERT
        )
    if not MIN_RATE <= file.samplerate <= MAX_RATE:
        raise InputError(
            f"{where} has an unsupported sample rate of {file.samplerate} Hz (supported: "
            f"{MIN_RATE}-{MAX_RATE} Hz); resample it, e.g. `ffmpeg -i IN -ar 16000 OUT.wav`"
        )
    if file.channels < 1:
        raise InputError(f"{where} declares {file.channels} channels")
    if file.frames <= 0:
        raise InputError(f"{where} contains no audio samples (its data chunk is empty)")
