"""Clocks: :class:`RealClock` follows the wall; :class:`VirtualClock` jumps when all is idle."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
import anyio.to_thread

from voicegraph.graph import RealClock, RunnerError

__all__ = ["RealClock", "VirtualClock"]

R = TypeVar("R")


class VirtualClock:
    """Simulated time that jumps ahead whenever every task is blocked.

    A scripted 60 s conversation runs in well under a second and gives the same timeline every
    time. Work run through :meth:`run_sync` counts as busy: time does not move while it runs,
    so model compute takes zero virtual time (declare a cost with ``sleep`` if you need one).

    The clock must be driven: the runner does this for you; elsewhere use
    ``async with clock.running(): ...``. It needs anyio's asyncio backend and is meant for
    in-process graphs (a socket read in flight is not seen as work).

    Args:
        start: the initial time in seconds.
        on_deadlock: called when every task is blocked with no timer pending; the runner uses it
            to raise :class:`~voicegraph.graph.DeadlockError`.
    """

    def __init__(
        self, start: float = 0.0, *, on_deadlock: Callable[[], None] | None = None
    ) -> None:
        self._now = float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._busy = 0
        self._driven = 0
        self._changed: asyncio.Event | None = None
        self.on_deadlock = on_deadlock

    def now(self) -> float:
        """The current virtual time in seconds."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time (zero or negative: just a checkpoint)."""
        await self.sleep_until(self._now + seconds)

    async def sleep_until(self, deadline: float) -> None:
        """Wait until virtual time reaches ``deadline``."""
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        if not self._driven:
            raise RunnerError(
                "VirtualClock is not running: run the graph with the runner, or wrap the code in "
                "`async with clock.running():`"
            )
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), fut))
        self._poke()
        await fut

    async def run_sync(self, func: Callable[..., R], *args: object) -> R:
        """Run ``func(*args)`` in a worker thread; virtual time stands still until it returns."""
        self._busy += 1
        try:
            return await anyio.to_thread.run_sync(func, *args)
        finally:
            self._busy -= 1
            self._poke()

    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[VirtualClock]:
        """Drive the clock for the duration of the block (re-entrant).

        An error the block raises comes out as it is (not in an exception group).
        """
        if self._driven:
            self._driven += 1
            try:
                yield self
            finally:
                self._driven -= 1
            return
        self._changed = asyncio.Event()
        self._driven = 1
        failure: BaseException | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._drive)
                try:
                    yield self
                except BaseException as exc:  # raised below as it is, not in an exception group
                    failure = exc
                tg.cancel_scope.cancel()
        finally:
            self._driven = 0
            self._changed = None
        if failure is not None:
            raise failure

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)
        if ready is None:
            raise RunnerError("VirtualClock needs the asyncio event loop (anyio backend 'asyncio')")
        changed = self._changed
        assert changed is not None
        while True:
            # Let every runnable task run; we are idle when nothing else is ready to run.
            await asyncio.sleep(0)
            if ready or self._busy:
                if self._busy and not ready:
                    changed.clear()
                    await changed.wait()
                continue
            # Drop sleepers that were cancelled meanwhile.
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            if not self._sleepers:
                if self.on_deadlock is not None:
                    self.on_deadlock()
                changed.clear()
                await changed.wait()
                continue
            deadline = self._sleepers[0][0]
            self._now = max(self._now, deadline)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                fut = heapq.heappop(self._sleepers)[2]
                if not fut.done():
                    fut.set_result(None)
