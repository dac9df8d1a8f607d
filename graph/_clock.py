"""The :class:`Clock` protocol that nodes use for time, :class:`RealClock` (the wall), and
:func:`deadline` (a time limit measured on any clock).

``VirtualClock`` (simulated time for tests) lives in ``voicegraph.runner``.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Protocol, TypeVar, runtime_checkable

import anyio
import anyio.to_thread

from ._errors import ConfigError, DeadlineError

__all__ = ["Clock", "Deadline", "RealClock", "deadline"]

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


class Deadline:
    """A time limit in progress, as :func:`deadline` yields it.

    Attributes:
        clock: the clock the limit is measured on.
        seconds: the limit (``math.inf``: none).
        expired: whether the limit was reached and the block cancelled.
    """

    __slots__ = ("_at", "_error", "_paused", "_paused_since", "_resumed", "_scope", "clock",
                 "expired", "seconds")  # fmt: skip

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds
        self.expired = False
        self._at = clock.now() + seconds
        self._paused = 0
        self._paused_since = 0.0
        self._resumed: anyio.Event | None = None
        self._scope: anyio.CancelScope | None = None  # RealClock: the scope whose deadline moves
        self._error: Exception | None = None

    @property
    def remaining(self) -> float:
        """Seconds left on the clock (they do not run down while :meth:`paused`)."""
        now = self._paused_since if self._paused else self.clock.now()
        return max(0.0, self._at - now)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the countdown inside the block; the time spent there does not count.

        For waits that are not the work's own (e.g. a tool waiting for a sub-task the user
        talks to). Blocks may nest and overlap across tasks: the countdown stops while any
        is open.
        """
        if not self._paused:
            self._paused_since = self.clock.now()
            if self._scope is not None:
                self._scope.deadline = math.inf
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1
            if not self._paused:
                self._at += self.clock.now() - self._paused_since
                if self._scope is not None and not self._scope.cancel_called:
                    self._scope.deadline = anyio.current_time() + self.remaining
                if self._resumed is not None:
                    self._resumed.set()

    async def _watch(self, body: anyio.CancelScope) -> None:
        """Cancel ``body`` when the limit is reached (any clock but ``RealClock``)."""
        clock = self.clock
        try:
            while True:
                if self._paused:
                    self._resumed = anyio.Event()
                    await self._resumed.wait()
                    continue
                left = self._at - clock.now()
                if left <= 0:
                    break
                await clock.sleep(left)
        except Exception as exc:  # e.g. a clock that cannot sleep: raised by deadline()
            self._error = exc
        else:
            self.expired = True
        body.cancel()


@asynccontextmanager
async def deadline(
    clock: Clock,
    seconds: float | None,
    *,
    error: Callable[[], BaseException] | None = None,
) -> AsyncIterator[Deadline]:
    """Cancel the block when ``seconds`` of ``clock``'s time have passed, then raise.

    The limit is measured on the run's clock, so it holds under ``RealClock`` and, in virtual
    time, deterministically under ``VirtualClock`` (where a watchdog task sleeps on the
    clock). On expiry the block is cancelled and ``error()`` is raised, by default a
    :class:`~voicegraph.graph.DeadlineError` naming the limit. An error the block raises
    itself propagates unchanged (never wrapped in an exception group, never replaced by the
    timeout); a cancellation from outside propagates as usual. ``seconds=None`` sets no limit.

    >>> async def answer(clock: Clock) -> None:
    ...     async with deadline(clock, 0.01, error=lambda: TimeoutError("no answer in 10 ms")):
    ...         await clock.sleep(60.0)
    >>> anyio.run(answer, RealClock())
    Traceback (most recent call last):
    ...
    TimeoutError: no answer in 10 ms

    Raises:
        ConfigError: ``seconds`` is NaN.
    """
    if seconds is None or seconds == math.inf:
        yield Deadline(clock, math.inf)
        return
    if math.isnan(seconds):
        raise ConfigError("deadline: seconds must be a number or None, not NaN")
    limit = Deadline(clock, seconds)
    if type(clock) is RealClock:  # anyio's own timer: no watchdog task
        with anyio.CancelScope(deadline=anyio.current_time() + seconds) as body:
            limit._scope = body
            yield limit
        limit.expired = body.cancel_called
    else:
        body = anyio.CancelScope()
        failure: BaseException | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(limit._watch, body)
            try:
                with body:
                    yield limit
            except BaseException as exc:  # raised below, outside the task group (no group)
                failure = exc
            tg.cancel_scope.cancel()
        if failure is not None and not isinstance(failure, Exception):
            raise failure  # a cancellation from outside, Ctrl-C, ...
        if limit._error is not None:
            if failure is not None:
                limit._error.add_note(f"the block then failed too: {type(failure).__name__}")
            raise limit._error
        if failure is not None:
            raise failure
    if body.cancelled_caught:
        if error is not None:
            raise error()
        raise DeadlineError(f"did not finish within {seconds:g} s of the run's clock")
