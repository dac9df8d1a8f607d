"""The default load measure: the machine's CPU use, averaged over 2.5 s (as LiveKit Agents)."""

from __future__ import annotations

import threading
from collections import deque

import psutil

__all__ = ["CpuLoad"]


class CpuLoad:
    """CPU use of the whole machine, 0..1, a moving average of 5 samples taken every 0.5 s.

    Sampling runs in a daemon thread between :meth:`start` and :meth:`stop`.
    """

    def __init__(self, *, interval: float = 0.5, samples: int = 5) -> None:
        self.interval = interval
        self._samples: deque[float] = deque(maxlen=samples)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sampling."""
        if self._thread is not None:
            return
        self._stop.clear()
        psutil.cpu_percent(None)  # prime: the next call measures from here
        self._thread = threading.Thread(
            target=self._sample, name="voicegraph:cpu-load", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling (the thread ends within one interval)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2 * self.interval)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._samples.append(psutil.cpu_percent(None) / 100.0)

    @property
    def value(self) -> float:
        """The current average (0 until the first sample)."""
        samples = list(self._samples)
        return sum(samples) / len(samples) if samples else 0.0
