"""Background sounds: what to play (:class:`AudioConfig`), its handle, and its playback.

A sound's source is a :class:`BuiltinAudioClip`, an audio file path (anything libsndfile
reads: WAV, Ogg Vorbis, FLAC; at most :data:`MAX_CLIP_SECONDS`, read whole when the sound is
prepared), or an async iterator of audio frames (voicegraph ``AudioFrame`` or
``livekit.rtc.AudioFrame``, pulled as the sound plays, at most :data:`STREAM_AHEAD` seconds
ahead). Everything is mixed down to mono and resampled to the output's rate.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

import anyio
import numpy as np
import numpy.typing as npt

from voicegraph.graph import ConfigError

from ._clips import CLIP_RATE, BuiltinAudioClip

__all__ = [
    "MAX_CLIP_SECONDS",
    "STREAM_AHEAD",
    "AudioConfig",
    "AudioSource",
    "PlayHandle",
    "Sound",
    "Voice",
    "prepare_sound",
]

MAX_CLIP_SECONDS = 300.0
"""The longest audio file a sound may be (it is held in memory); stream longer audio."""
STREAM_AHEAD = 1.0
"""Seconds of an async iterator's audio read ahead of what has played."""

AudioSource: TypeAlias = BuiltinAudioClip | str | os.PathLike[str] | AsyncIterator[Any]
"""A sound's audio: a built-in clip, a file path, or an async iterator of audio frames."""

Floats = npt.NDArray[np.float32]


class AudioConfig(NamedTuple):
    """A background sound and how to play it (LiveKit's ``AudioConfig``).

    Attributes:
        source: the audio (see the module docstring).
        volume: gain, 0..1 (default 1).
        probability: the chance this sound is chosen when several are given as a list
            (a list whose probabilities sum below 1 may choose none: silence).
        fade_in: seconds to ramp up from silence when it starts (default 0).
        fade_out: seconds to ramp down when :meth:`PlayHandle.stop` is called (default 0:
            cut at once).
    """

    source: AudioSource
    volume: float = 1.0
    probability: float = 1.0
    fade_in: float = 0.0
    fade_out: float = 0.0


class PlayHandle:
    """A playing sound: :meth:`stop` it, ask :meth:`done`, or await it until it has played."""

    def __init__(self, fade_out: float = 0.0) -> None:
        self.fade_out = fade_out
        self._done = False
        self._stop_requested = False
        self._event: anyio.Event | None = None

    def done(self) -> bool:
        """Whether the sound has finished (played out, stopped, or its player closed)."""
        return self._done

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop_requested

    def stop(self) -> None:
        """Stop the sound: at once, or after its ``fade_out`` (it is done when that ends)."""
        if self._done:
            return
        self._stop_requested = True
        if self.fade_out <= 0:
            self.mark_done()

    async def wait_for_playout(self) -> None:
        """Wait until the sound is done."""
        if self._done:
            return
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()

    def __await__(self) -> Generator[Any, None, PlayHandle]:
        async def wait() -> PlayHandle:
            await self.wait_for_playout()
            return self

        return wait().__await__()

    def mark_done(self) -> None:
        """Mark the sound done and wake its waiters (the mixer calls this)."""
        self._done = True
        if self._event is not None:
            self._event.set()


@dataclass
class Sound:
    """A prepared source: a whole clip (``samples`` at ``rate``) or a ``stream`` of frames."""

    samples: npt.NDArray[np.int16] | None = None
    rate: int = CLIP_RATE
    stream: AsyncIterator[Any] | None = None
    _resampled: dict[int, Floats] = field(default_factory=dict)

    def at(self, rate: int) -> Floats:
        """The clip as float samples at ``rate`` (resampled once per rate)."""
        assert self.samples is not None
        if rate not in self._resampled:
            self._resampled[rate] = _resample(self.samples.astype(np.float32), self.rate, rate)
        return self._resampled[rate]


def prepare_sound(source: Any, where: str) -> Sound:
    """Check and load ``source`` (see the module docstring).

    Raises:
        ConfigError: an unreadable, empty or too long file, or a source of another type.
    """
    if isinstance(source, BuiltinAudioClip):
        return Sound(source.samples(), CLIP_RATE)
    if isinstance(source, str | os.PathLike):
        return _read_file(Path(source), where)
    if hasattr(source, "__anext__"):
        return Sound(stream=source)
    raise ConfigError(
        f"{where}: a sound's source must be a BuiltinAudioClip, an audio file path or an "
        f"async iterator of audio frames, got {type(source).__name__}"
    )


def _read_file(path: Path, where: str) -> Sound:
    import soundfile

    fix = "give the path of a WAV, Ogg or FLAC file, or a BuiltinAudioClip"
    if not path.is_file():
        raise ConfigError(f"{where}: no audio file at {str(path)!r}; {fix}")
    try:
        info = soundfile.info(str(path))
        if info.frames > MAX_CLIP_SECONDS * info.samplerate:
            raise ConfigError(
                f"{where}: {str(path)!r} is {info.duration:.0f} s long; a background clip "
                f"may be at most {MAX_CLIP_SECONDS:.0f} s (pass longer audio as an async "
                "iterator of frames)"
            )
        data, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise ConfigError(f"{where}: cannot read {str(path)!r} as audio ({exc}); {fix}") from None
    if not len(data):
        raise ConfigError(f"{where}: {str(path)!r} holds no audio; {fix}")
    mono = data[:, 0] if data.shape[1] == 1 else np.round(data.mean(axis=1)).astype(np.int16)
    return Sound(np.ascontiguousarray(mono), int(rate))


def _resample(x: Floats, src: int, dst: int) -> Floats:
    if src == dst or not len(x):
        return x
    n = max(1, round(len(x) * dst / src))
    out: Floats = np.interp(np.arange(n) * (src / dst), np.arange(len(x)), x).astype(np.float32)
    return out


def _frame_samples(frame: Any) -> tuple[Floats, int]:
    """Mono float samples and rate of a voicegraph or ``livekit.rtc`` audio frame."""
    if hasattr(frame, "pcm"):
        pcm = np.asarray(frame.pcm, dtype=np.float32)
        mono = pcm.mean(axis=1) if pcm.ndim == 2 else pcm
        return mono.astype(np.float32), int(frame.sample_rate)
    data = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32)
    channels = int(frame.num_channels)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data.astype(np.float32), int(frame.sample_rate)


class Voice:
    """One playing sound inside the mixer: its position, gain envelope and handle."""

    def __init__(
        self, sound: Sound, handle: PlayHandle, *, volume: float, fade_in: float, loop: bool
    ) -> None:
        self.sound = sound
        self.handle = handle
        self.volume = volume
        self.fade_in = fade_in
        self.loop = loop
        self._pos = 0  # next sample of the clip, at the rate last rendered
        self._rate: int | None = None
        self._produced = 0  # output samples rendered so far
        self._stop_at: int | None = None  # output sample at which the fade-out began
        self._buffer: deque[Floats] = deque()
        self._buffered = 0
        self._exhausted = False
        self.ended = False
        """Its last sample was rendered (the mixer marks the handle done once it played)."""

    @property
    def finished(self) -> bool:
        """Nothing more to render: ended, stopped, or faded out."""
        return self.ended or self.handle.done()

    async def fill(self, rate: int) -> None:
        """Read a stream's frames up to :data:`STREAM_AHEAD` seconds ahead."""
        stream = self.sound.stream
        while stream is not None and not self._exhausted and self._buffered < STREAM_AHEAD * rate:
            try:
                frame = await stream.__anext__()
            except StopAsyncIteration:
                self._exhausted = True
                return
            samples, frame_rate = _frame_samples(frame)
            piece = _resample(samples, frame_rate, rate)
            self._buffer.append(piece)
            self._buffered += len(piece)

    async def render(self, n: int, rate: int, *, wait: bool) -> Floats:
        """The next ``n`` samples at ``rate``, with volume and fades (zeros once finished).

        ``wait=False`` never awaits a stream: only what :meth:`fill` read ahead is used.
        """
        out = np.zeros(n, np.float32)
        if self.finished:
            return out
        if self.handle.stopping and self._stop_at is None:
            self._stop_at = self._produced
        if self.sound.stream is not None:
            if wait:
                await self.fill(rate)
            got = self._take(out, rate)
            ended = self._exhausted and not self._buffered
        else:
            got, ended = self._take_clip(out, rate)
        gain = self._gain(got, rate)
        out[:got] *= gain
        self._produced += got
        if ended or self._faded(rate):
            self.ended = True
        return out

    def _take(self, out: Floats, rate: int) -> int:
        got = 0
        while got < len(out) and self._buffer:
            piece = self._buffer[0]
            k = min(len(out) - got, len(piece))
            out[got : got + k] = piece[:k]
            got += k
            self._buffered -= k
            if k == len(piece):
                self._buffer.popleft()
            else:
                self._buffer[0] = piece[k:]
        return got

    def _take_clip(self, out: Floats, rate: int) -> tuple[int, bool]:
        clip = self.sound.at(rate)
        if self._rate is not None and self._rate != rate:  # the output's rate changed
            self._pos = round(self._pos * rate / self._rate)
        self._rate = rate
        got = 0
        while got < len(out):
            if self._pos >= len(clip):
                if not self.loop:
                    return got, True
                self._pos = 0
            k = min(len(out) - got, len(clip) - self._pos)
            out[got : got + k] = clip[self._pos : self._pos + k]
            got += k
            self._pos += k
        return got, self._pos >= len(clip) and not self.loop

    def _gain(self, n: int, rate: int) -> Floats | float:
        idx = self._produced + np.arange(n, dtype=np.float32)
        gain: Floats | float = self.volume
        if self.fade_in > 0 and self._produced < self.fade_in * rate:
            gain = gain * np.clip(idx / (self.fade_in * rate), 0.0, 1.0)
        if self._stop_at is not None and self.handle.fade_out > 0:
            left = 1.0 - (idx - self._stop_at) / (self.handle.fade_out * rate)
            gain = gain * np.clip(left, 0.0, 1.0)
        return gain

    def _faded(self, rate: int) -> bool:
        if self._stop_at is None:
            return False
        return self._produced - self._stop_at >= self.handle.fade_out * rate
