"""One attempt with a deadline on the run's clock."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import anyio

from voicegraph.graph import Clock, ProviderTimeoutError

__all__ = ["timed"]

T = TypeVar("T")


async def timed(clock: Clock, seconds: float, work: Awaitable[T], what: str) -> T:
    """Await ``work``; raise :class:`ProviderTimeoutError` after ``seconds`` on ``clock``.

    The time is measured on the run's clock, so scripted providers are deterministic under a
    ``VirtualClock``. (A cloud provider's network wait is invisible to the virtual clock: run
    graphs with cloud providers on the ``RealClock``.) The work runs in the calling task and
    is cancelled on timeout.
    """
    result: list[T] = []
    error: BaseException | None = None
    timed_out = False
    async with anyio.create_task_group() as tg:

        async def watchdog() -> None:
            nonlocal timed_out
            await clock.sleep(seconds)
            timed_out = True
            tg.cancel_scope.cancel()

        tg.start_soon(watchdog)
        try:
            result.append(await work)
        except Exception as exc:  # re-raised outside the task group (no ExceptionGroup)
            error = exc
        tg.cancel_scope.cancel()
    if timed_out and not result and error is None:
        raise ProviderTimeoutError("fallback", f"{what} gave no answer within {seconds:g} s")
    if error is not None:
        raise error
    return result[0]
