"""One node's run-long work (``Node.run_in_background``): started in the run's task group,
untouched by interrupts, stopped when the run stops (or the node is restarted), within the
runner's ``close_timeout``.

Each function runs in its own asyncio task, watched by a task in the run's task group. When
the watcher is cancelled it cancels the work (its cancel scope, so shields inside it hold as
they do for ``aclose()``) and waits for it (shielded) at most
``close_timeout`` seconds on the run's clock and in real time; work still running then is
abandoned with an error logged naming the node, so a stop never hangs (as for ``aclose()``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from ._closing import wait_within

if TYPE_CHECKING:
    from voicegraph.graph import Clock

__all__ = ["BackgroundWork", "OnError"]

OnError = Callable[[BaseException, bool], None]
"""Called with an error the work raised and whether the work was being stopped then."""

_STOP = "stop its background work"


class BackgroundWork:
    """The ``run_in_background`` functions of one node.

    Args:
        path: the node's path (for task names and log messages).
        clock: the run's clock (the stop deadline is measured on it too).
        timeout: seconds a stopped function gets to end before it is abandoned.
        on_error: told about each error a function raised (it may raise to fail the run).
    """

    def __init__(self, path: str, clock: Clock, timeout: float, on_error: OnError) -> None:
        self._path = path
        self._clock = clock
        self._timeout = timeout
        self._on_error = on_error
        self._scopes: set[anyio.CancelScope] = set()
        self._idle: anyio.Event | None = None

    def start(self, tg: anyio.abc.TaskGroup, func: Callable[[], Awaitable[object]]) -> None:
        """Run ``await func()`` in ``tg`` until it returns or is stopped."""
        scope = anyio.CancelScope()
        self._scopes.add(scope)
        tg.start_soon(self._watch, func, scope, name=f"voicegraph:{self._path}:background")

    async def stop(self) -> None:
        """Stop every function running now and wait until each has ended or been abandoned."""
        if not self._scopes:
            return
        if self._idle is None or self._idle.is_set():  # a concurrent stop() shares the event
            self._idle = anyio.Event()
        idle = self._idle
        for scope in self._scopes:
            scope.cancel()
        await idle.wait()

    async def _watch(self, func: Callable[[], Awaitable[object]], scope: anyio.CancelScope) -> None:
        loop = asyncio.get_running_loop()
        work = anyio.CancelScope()  # cancelled to stop the work (shields are honoured)
        name = f"voicegraph:{self._path}:background-work"
        task = loop.create_task(_call(func, work), name=name)
        try:
            with scope:
                await asyncio.wait((task,))
        finally:
            stopped = not task.done()
            if stopped:
                work.cancel()
                await wait_within([(self._path, task)], self._clock, self._timeout, _STOP)
            self._scopes.discard(scope)
            if not self._scopes and self._idle is not None:
                self._idle.set()
            if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                self._on_error(error, stopped)


async def _call(func: Callable[[], Awaitable[object]], scope: anyio.CancelScope) -> None:
    with scope:
        await func()
