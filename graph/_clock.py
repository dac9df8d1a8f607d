"""The :class:`Clock` protocol that nodes use for time, and :class:`RealClock` (the wall).

``VirtualClock`` (simulated time for tests) lives in ``voicegraph.runner``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar, runtime_checkable

import anyio
import anyio.to_thread

__all__ = ["Clock", "RealClock"]

R = TypeVar("R")


@runtime_checkable
class Clock(Protocol):
    """Time as a node sees it. ``RealClock`` follows the wall; ``VirtualClock`` jumps.

    Use ``self.clock`` inside a node instead of ``time`` / ``anyio.sleep`` so the same node runs
    in real time and, deterministically, on a virtual clock.
    """

    def now(self) -> float:
        """Seconds since the clock started."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Wait until ``now() >= deadline``."""
        ...

    async def run_sync(self, func: Callable[..., R], *args: object) -> R:
        """Run blocking ``func(*args)`` in a worker thread.

        The virtual clock counts the thread as busy: time does not jump while it runs.
        """
        ...


class RealClock:
    """Wall-clock time (monotonic), in seconds since the clock was created."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the clock was created."""
        return time.monotonic() - self._t0

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of real time."""
        await anyio.sleep(max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until ``now() >= deadline``."""
        await anyio.sleep(max(0.0, deadline - self.now()))

    async def run_sync(self, func: Callable[..., R], *args: object) -> R:
        """Run ``func(*args)`` in a worker thread and wait for it (cancellation waits too)."""
        return await anyio.to_thread.run_sync(func, *args)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RealClock]:
        """Nothing to drive for real time; present so both clocks are used the same way."""
        yield self
