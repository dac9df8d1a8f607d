"""Shared pieces: settings, frames, statistics, result rows and verdicts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from voicegraph.graph import AudioFrame

__all__ = [
    "FRAME_SECONDS",
    "HOPS",
    "SAMPLE_RATE",
    "Row",
    "Settings",
    "at_least",
    "at_most",
    "fresh_frame",
    "frame_index",
    "make_frames",
    "mean",
    "median",
    "percentile",
]

SAMPLE_RATE = 16_000
FRAME_SECONDS = 0.02
SAMPLES = int(SAMPLE_RATE * FRAME_SECONDS)  # 320
HOPS = 8
"""A hop is one pass-through stage: the edge into it plus its handler call. The chains are
source -> 8 pass-through -> sink, i.e. 9 edges and 8 handlers; end-to-end / 8 charges the
extra sink edge to the hops, so per-hop figures are slightly pessimistic."""

_PCM = np.zeros((SAMPLES, 1), np.int16)


@dataclass(frozen=True, slots=True)
class Settings:
    """Sizes of every benchmark; ``quick`` shrinks them for a smoke run."""

    quick: bool = False
    repeats: int = 3
    hop_frames: int = 20_000
    hop_unloaded_frames: int = 5_000
    interrupts: int = 200
    slow_seconds: float = 10.0
    slow_unbounded_cap_mb: float = 256.0
    scale_total_frames: int = 20_000
    scale_levels: tuple[int, ...] = (1, 10, 100)
    capacity: int = 4

    @classmethod
    def for_mode(cls, quick: bool) -> Settings:
        """The full suite, or the quick smoke run."""
        if not quick:
            return cls()
        return cls(
            quick=True,
            repeats=1,
            hop_frames=2_000,
            hop_unloaded_frames=500,
            interrupts=50,
            slow_seconds=2.0,
            slow_unbounded_cap_mb=64.0,
            scale_total_frames=2_000,
        )


def make_frames(n: int) -> list[AudioFrame]:
    """``n`` fresh 20 ms, 16 kHz mono int16 frames (sharing one zero PCM buffer)."""
    return [AudioFrame(_PCM, SAMPLE_RATE, pts=i * FRAME_SECONDS) for i in range(n)]


def fresh_frame(i: int) -> AudioFrame:
    """One frame with its own newly allocated PCM buffer (so a leak would show in RSS)."""
    return AudioFrame(np.zeros((SAMPLES, 1), np.int16), SAMPLE_RATE, pts=i * FRAME_SECONDS)


def frame_index(frame: AudioFrame) -> int:
    """The sequence number encoded in a frame's ``pts``."""
    return round(frame.pts / FRAME_SECONDS)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean (nan when empty)."""
    return sum(values) / len(values) if values else math.nan


def median(values: Sequence[float]) -> float:
    """The median (nan when empty)."""
    return percentile(values, 50.0)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def at_most(value: float, limit: float, unit: str) -> str:
    """Verdict for a 'lower is better' target."""
    if math.isnan(value):
        return "n/a"
    if value <= limit:
        return "met"
    over = (value / limit - 1.0) * 100.0 if limit else math.inf
    excess = value - limit
    amount = f"{excess:,.0f}" if excess >= 100 else f"{excess:.3g}"
    return f"MISSED by {amount} {unit} ({over:.0f}% over)"


def at_least(value: float, limit: float, unit: str = "") -> str:
    """Verdict for a 'higher is better' target."""
    if math.isnan(value):
        return "n/a"
    if value >= limit:
        return "met"
    short = (1.0 - value / limit) * 100.0
    return f"MISSED by {limit - value:.3g}{unit} ({short:.0f}% short)"


@dataclass(slots=True)
class Row:
    """One line of the results table.

    ``vg`` is voicegraph's figure; ``base_a``/``base_b`` are the same figure for the two
    baselines of this benchmark (named in the section's note). Ratios are vg ÷ baseline.
    """

    section: str
    metric: str
    unit: str
    vg: float | None
    base_a: float | None = None
    base_b: float | None = None
    target: str = ""
    verdict: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    def ratio(self, base: float | None) -> float | None:
        """vg ÷ base, or None when either is missing or the base is zero."""
        if self.vg is None or base is None or base == 0 or math.isnan(base):
            return None
        return self.vg / base
