"""The :class:`Clock` protocol that nodes use for time (implementations: ``voicegraph.runner``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["Clock"]

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
