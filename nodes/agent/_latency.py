"""Voice-to-voice latency as a listener hears it, measured from the audio itself.

The user's audio and the agent's played audio share one time axis (sample ``i`` of each is
``i / rate`` seconds after the input started). Both are cut into consecutive 20 ms windows from
time 0; a window is *audible* when its RMS level is above -40 dBFS (full scale: 32768). The
true end of the user's speech is the end of the last audible input window before the turn was
decided; the agent's first audible audio is the start of the first audible window of the
reply. Times are therefore exact to one window (20 ms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "THRESHOLD_DBFS",
    "WINDOW",
    "HeardLatency",
    "audible_windows",
    "first_audible",
    "heard_latency",
    "last_audible_end",
]

WINDOW = 0.02
"""Seconds per level window."""
THRESHOLD_DBFS = -40.0
"""A window above this RMS level (dB relative to int16 full scale) is audible."""


@dataclass(frozen=True, slots=True)
class HeardLatency:
    """One turn, timed from the audio.

    Attributes:
        speech_end: seconds on the input's axis where the user's speech truly ended.
        first_audio: seconds on the same axis where the agent first became audible.
    """

    speech_end: float
    first_audio: float

    @property
    def latency(self) -> float:
        """Seconds from the true end of speech to the first audible agent audio."""
        return self.first_audio - self.speech_end


def audible_windows(
    samples: npt.NDArray[np.integer] | npt.NDArray[np.floating],
    rate: int,
    *,
    window: float = WINDOW,
    threshold_dbfs: float = THRESHOLD_DBFS,
) -> npt.NDArray[np.bool_]:
    """Whether each consecutive ``window`` of mono int16-scaled ``samples`` is audible.

    Window ``k`` covers samples ``[k*n, (k+1)*n)`` with ``n = round(rate * window)``; a last
    partial window counts with its own length.
    """
    n = max(1, round(rate * window))
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    count = -(-len(x) // n)
    padded = np.zeros(count * n)
    padded[: len(x)] = x
    power = (padded.reshape(count, n) ** 2).sum(axis=1)
    lengths = np.full(count, n, dtype=np.float64)
    if count and len(x) % n:
        lengths[-1] = len(x) % n
    limit = (32768.0 * 10 ** (threshold_dbfs / 20)) ** 2
    return np.asarray(power / np.maximum(lengths, 1.0) > limit, dtype=np.bool_)


def last_audible_end(
    samples: npt.NDArray[np.integer] | npt.NDArray[np.floating],
    rate: int,
    start: float,
    end: float,
    *,
    window: float = WINDOW,
) -> float | None:
    """End time of the last audible window starting in ``[start, end)``, or ``None``."""
    n = max(1, round(rate * window))
    loud = np.flatnonzero(audible_windows(samples, rate, window=window))
    starts = loud * n / rate
    hits = loud[(starts >= start - 1e-9) & (starts < end - 1e-9)]
    if not len(hits):
        return None
    return float(min((int(hits[-1]) + 1) * n, len(samples)) / rate)


def first_audible(
    samples: npt.NDArray[np.integer] | npt.NDArray[np.floating],
    rate: int,
    start: float,
    end: float | None = None,
    *,
    window: float = WINDOW,
) -> float | None:
    """Start time of the first audible window starting in ``[start, end)``, or ``None``.

    A window straddling ``start`` counts too (its start is then reported as ``start``)."""
    n = max(1, round(rate * window))
    loud = np.flatnonzero(audible_windows(samples, rate, window=window))
    ends = (loud + 1) * n / rate
    starts = loud * n / rate
    ok = ends > start + 1e-9
    if end is not None:
        ok &= starts < end - 1e-9
    hits = loud[ok]
    return None if not len(hits) else max(start, float(int(hits[0]) * n / rate))


def heard_latency(
    user: npt.NDArray[np.integer] | npt.NDArray[np.floating],
    user_rate: int,
    agent: npt.NDArray[np.integer] | npt.NDArray[np.floating],
    agent_rate: int,
    *,
    decided: float,
    reply_start: float,
    turn_start: float = 0.0,
    reply_end: float | None = None,
) -> HeardLatency | None:
    """Time one turn from the audio (both arrays mono, on the same axis, time 0 = sample 0).

    Args:
        user, user_rate: the input audio.
        agent, agent_rate: what the agent played, aligned with the input.
        decided: when the turn was decided; the speech searched ends here.
        reply_start: when the reply answering it started playing; its audio is searched
            from here (up to ``reply_end``, default: to the end).
        turn_start: where the user's speech search starts (the previous turn's decision).

    Returns:
        ``None`` if the user was never audible in ``[turn_start, decided)`` or the agent never
        audible in the reply.
    """
    spoken = last_audible_end(user, user_rate, turn_start, decided)
    heard = first_audible(agent, agent_rate, reply_start, reply_end)
    if spoken is None or heard is None:
        return None
    return HeardLatency(spoken, heard)
