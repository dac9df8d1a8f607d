"""Built-in background clips, synthesized (deterministically) on first use.

voicegraph ships none of LiveKit's recordings. Each :class:`BuiltinAudioClip` is a short
loopable 16 kHz mono clip made with numpy from a fixed seed, so every run and every machine
hears the same samples and the wheel carries no audio: soft brown noise for the ambiences,
bursts of filtered clicks for the keyboards, a slow arpeggio for the hold music.
:meth:`BuiltinAudioClip.path` writes the clip to a WAV file in the temporary folder, for
code that wants a file (as LiveKit's ``.path()`` returns one).
"""

from __future__ import annotations

import enum
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["CLIP_RATE", "BuiltinAudioClip"]

CLIP_RATE = 16000
"""The built-in clips' sample rate, in Hz."""

Samples = npt.NDArray[np.int16]


class BuiltinAudioClip(enum.Enum):
    """voicegraph's stand-ins for LiveKit's bundled sounds (same names; synthesized)."""

    CITY_AMBIENCE = "city-ambience"
    FOREST_AMBIENCE = "forest-ambience"
    OFFICE_AMBIENCE = "office-ambience"
    CROWDED_ROOM = "crowded-room"
    KEYBOARD_TYPING = "keyboard-typing"
    KEYBOARD_TYPING2 = "keyboard-typing2"
    HOLD_MUSIC = "hold-music"

    def samples(self) -> Samples:
        """The clip: int16 mono samples at :data:`CLIP_RATE` (made once, then cached)."""
        return _synthesize(self.value)

    def path(self) -> str:
        """A WAV file of the clip (written to the temporary folder on first use)."""
        folder = Path(tempfile.gettempdir()) / f"voicegraph-clips-{os.getuid()}"
        target = folder / f"{self.value}.wav"
        if not target.is_file():
            import soundfile

            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{self.value}.{os.getpid()}.wav"
            soundfile.write(str(tmp), self.samples(), CLIP_RATE, subtype="PCM_16")
            tmp.replace(target)
        return str(target)


def _brown(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    """Brown (1/f²) noise, its slow drift removed (minus a 1/8 s moving average), unit peak."""
    walk = np.cumsum(rng.standard_normal(n))
    window = CLIP_RATE // 8
    sums = np.concatenate([[0.0], np.cumsum(walk)])
    lo = np.clip(np.arange(n) - window // 2, 0, n)
    hi = np.clip(np.arange(n) + window // 2, 0, n)
    out: npt.NDArray[np.float64] = walk - (sums[hi] - sums[lo]) / (hi - lo)
    return out / float(np.max(np.abs(out)))


def _loopable(x: npt.NDArray[np.float64], fade: int) -> npt.NDArray[np.float64]:
    """Cross-fade the clip's tail into its head so it loops without a click."""
    ramp = np.linspace(0.0, 1.0, fade)
    head = x[:fade] * ramp + x[-fade:] * (1 - ramp)
    return np.concatenate([head, x[fade:-fade]])


def _clicks(rng: np.random.Generator, n: int, rate: float, level: float) -> npt.NDArray[np.float64]:
    """Short decaying noise clicks at random times, about ``rate`` per second, in bursts."""
    out = np.zeros(n)
    click = rng.standard_normal(160) * np.exp(-np.arange(160) / 25.0)
    t = 0
    while True:
        t += int(rng.exponential(CLIP_RATE / rate))
        if rng.random() < 0.15:
            t += int(0.4 * CLIP_RATE)  # a pause between words
        if t + len(click) >= n:
            break
        out[t : t + len(click)] += click * level * (0.6 + 0.4 * rng.random())
    return out


def _office(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    n = 4 * CLIP_RATE
    return _loopable(0.06 * _brown(rng, n + 1600), 1600)


def _city(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    n = 4 * CLIP_RATE
    swell = 1 + 0.5 * np.sin(2 * np.pi * np.arange(n + 1600) / (n + 1600))
    return _loopable(0.08 * _brown(rng, n + 1600) * swell, 1600)


def _forest(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    n = 4 * CLIP_RATE
    bed = 0.04 * _brown(rng, n + 1600)
    t = np.arange(int(0.12 * CLIP_RATE)) / CLIP_RATE
    for start in (0.6, 1.9, 2.3, 3.1):
        chirp = 0.05 * np.sin(2 * np.pi * (2800 + 6000 * t) * t) * np.hanning(len(t))
        i = int(start * CLIP_RATE)
        bed[i : i + len(t)] += chirp
    return _loopable(bed, 1600)


def _crowd(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    n = 4 * CLIP_RATE + 1600
    voices = np.zeros(n)
    for _ in range(6):  # syllable-rate modulated noise, like distant chatter
        rate = 3 + 3 * rng.random()
        phase = rng.random() * 2 * np.pi
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rate * np.arange(n) / CLIP_RATE + phase)
        voices += _brown(rng, n) * envelope
    return _loopable(0.1 * voices / np.max(np.abs(voices)), 1600)


def _keyboard(seed_rate: float) -> Callable[[np.random.Generator], npt.NDArray[np.float64]]:
    def make(rng: np.random.Generator) -> npt.NDArray[np.float64]:
        return _clicks(rng, 3 * CLIP_RATE, seed_rate, 0.25)

    return make


def _hold(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    note = int(0.25 * CLIP_RATE)
    t = np.arange(note) / CLIP_RATE
    envelope = np.exp(-t * 6)
    freqs = [261.6, 329.6, 392.0, 523.3, 392.0, 329.6, 293.7, 349.2, 440.0, 587.3, 440.0, 349.2]
    tones = [0.2 * envelope * np.sin(2 * np.pi * f * t) for f in freqs]
    return np.concatenate(tones)


_MAKERS: dict[str, tuple[int, Callable[[np.random.Generator], npt.NDArray[np.float64]]]] = {
    "office-ambience": (1, _office),
    "city-ambience": (2, _city),
    "forest-ambience": (3, _forest),
    "crowded-room": (4, _crowd),
    "keyboard-typing": (5, _keyboard(9.0)),
    "keyboard-typing2": (6, _keyboard(5.0)),
    "hold-music": (7, _hold),
}


@cache
def _synthesize(name: str) -> Samples:
    seed, make = _MAKERS[name]
    x = make(np.random.default_rng(seed))
    samples = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    samples.flags.writeable = False
    return samples
