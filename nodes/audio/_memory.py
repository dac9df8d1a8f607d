"""In-memory audio source and sink, for tests, notebooks and embedding."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from voicegraph.graph import AudioFrame, ConfigError, In, InputError, Node

from ._source import PacedSource, SourceConfig, frame_samples

__all__ = ["MemorySink", "MemorySource"]


class MemorySource(PacedSource):
    """Emit audio held in memory as :class:`AudioFrame` on ``audio``.

    Give it either an int16 array with its rate, cut into ``frame_ms`` frames (``pts`` from 0;
    the last frame is emitted short, not padded)::

        MemorySource(pcm=samples, sample_rate=16000)

    or a list of ready-made frames, emitted as they are (their own sizes and ``pts``)::

        MemorySource(frames=[frame1, frame2])

    The audio is passed as keyword arguments outside the config, so the config (``frame_ms``,
    ``realtime``) stays small and serializable: a graph saved to YAML/JSON and loaded again has
    a ``MemorySource`` with no audio, which emits nothing until you call :meth:`load`.

    Ports:
        audio: ``Out[AudioFrame]`` (its ``sample_rate`` is set when all audio has one rate).

    Config:
        frame_ms: frame length in milliseconds when cutting ``pcm`` (default 20).
        realtime: pace with the clock so clock time tracks media time (default ``False``:
            unlike :class:`WavSource`, emit as fast as downstream accepts).

    Raises:
        InputError: ``pcm`` is not an int16 array shaped ``(samples,)`` or
            ``(samples, channels)``, or ``frames`` holds something other than AudioFrames.
        ConfigError: ``pcm`` without ``sample_rate``, or both ``pcm`` and ``frames``.
    """

    class Config(SourceConfig):
        """MemorySource settings (see the class docstring)."""

        realtime: bool = False

    config: Config

    def __init__(
        self,
        config: Config | None = None,
        /,
        *,
        pcm: npt.NDArray[np.int16] | None = None,
        sample_rate: int | None = None,
        frames: Iterable[AudioFrame] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        self._pcm: npt.NDArray[np.int16] | None = None
        self._rate = 0
        self._frames: list[AudioFrame] = []
        self._index = 0
        self._pos = 0
        self.load(pcm=pcm, sample_rate=sample_rate, frames=frames)

    def load(
        self,
        *,
        pcm: npt.NDArray[np.int16] | None = None,
        sample_rate: int | None = None,
        frames: Iterable[AudioFrame] | None = None,
    ) -> None:
        """Replace the audio to emit (see the class docstring for the two forms)."""
        if pcm is not None and frames is not None:
            raise ConfigError("MemorySource: pass either pcm= (with sample_rate=) or frames=")
        self._pcm, self._rate, self._frames = None, 0, []
        if pcm is not None:
            if sample_rate is None or sample_rate <= 0:
                raise ConfigError(
                    "MemorySource: pcm= needs a positive sample_rate=, e.g. sample_rate=16000"
                )
            if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16 or pcm.ndim not in (1, 2):
                got = (
                    f"dtype {pcm.dtype}, shape {pcm.shape}"
                    if isinstance(pcm, np.ndarray)
                    else type(pcm).__name__
                )
                raise InputError(
                    "MemorySource: pcm must be an int16 numpy array shaped (samples,) or "
                    f"(samples, channels), got {got}; convert floats in [-1, 1] with "
                    "(x * 32767).astype(np.int16)"
                )
            self._pcm = pcm.reshape(-1, 1) if pcm.ndim == 1 else pcm
            self._rate = int(sample_rate)
            self.audio.sample_rate = self._rate
        elif frames is not None:
            self._frames = list(frames)
            bad = [type(f).__name__ for f in self._frames if not isinstance(f, AudioFrame)]
            if bad:
                raise InputError(f"MemorySource: frames must be AudioFrames, got {bad[0]}")
            rates = {f.sample_rate for f in self._frames}
            self.audio.sample_rate = rates.pop() if len(rates) == 1 else None
        else:
            self.audio.sample_rate = None
        self._index = self._pos = 0
        self.rewind()

    async def setup(self) -> None:
        """Start from the beginning of the audio."""
        self._index = self._pos = 0
        self.rewind()

    def next_frame(self) -> AudioFrame | None:
        """The next frame: a slice of ``pcm`` or the next of ``frames``."""
        if self._pcm is not None:
            pcm, rate = self._pcm, self._rate
            if self._pos >= len(pcm):
                return None
            n = frame_samples(rate, self.config.frame_ms)
            chunk = pcm[self._pos : self._pos + n]
            frame = AudioFrame(chunk, rate, pts=self._pos / rate)
            self._pos += len(chunk)
            return frame
        if self._index >= len(self._frames):
            return None
        self._index += 1
        return self._frames[self._index - 1]


class MemorySink(Node):
    """Collect every :class:`AudioFrame` received on ``audio_in`` in memory.

    ``received`` holds the frames in arrival order (cleared when a run starts); :meth:`audio`
    joins them into one array. Memory grows with the audio received, so use it for tests and
    bounded clips, not for endless streams.

    Ports:
        audio_in: ``In[AudioFrame]`` (not ``audio``: that name is the :meth:`audio` method).
    """

    audio_in: In[AudioFrame]

    def __init__(self, config: Any = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._frames: list[AudioFrame] = []

    @property
    def received(self) -> list[AudioFrame]:
        """The frames received, in arrival order."""
        return self._frames

    async def setup(self) -> None:
        """Forget frames from a previous run."""
        self._frames = []

    async def on_audio_in(self, frame: AudioFrame) -> None:
        """Keep ``frame``."""
        self._frames.append(frame)

    @property
    def sample_rate(self) -> int | None:
        """The rate of the collected frames (``None`` if none arrived)."""
        return self._frames[0].sample_rate if self._frames else None

    @property
    def duration(self) -> float:
        """Total seconds of audio collected."""
        return sum(f.duration for f in self._frames)

    def audio(self) -> npt.NDArray[np.int16]:
        """All collected samples joined in arrival order, shaped ``(samples, channels)``.

        Returns an empty ``(0, 1)`` array if nothing arrived.

        Raises:
            InputError: the frames differ in sample rate or channel count (joining them would
                garble the audio).
        """
        if not self._frames:
            return np.zeros((0, 1), np.int16)
        formats = {(f.sample_rate, f.channels) for f in self._frames}
        if len(formats) > 1:
            raise InputError(
                f"MemorySink {self.name!r} collected frames of different formats "
                f"{sorted(formats)} (rate, channels); read .received instead or insert a Resampler"
            )
        return np.concatenate([f.pcm for f in self._frames])
