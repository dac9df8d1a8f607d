"""One attempt with a deadline on the run's clock."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from voicegraph.graph import Clock, ProviderTimeoutError, deadline

__all__ = ["timed"]

T = TypeVar("T")


async def timed(clock: Clock, seconds: float, work: Awaitable[T], what: str) -> T:
    """Await ``work``; raise :class:`ProviderTimeoutError` after ``seconds`` on ``clock``.

    The time is measured on the run's clock (:func:`~voicegraph.graph.deadline`), so
    scripted providers are deterministic under a ``VirtualClock``. (A cloud provider's
    network wait is invisible to the virtual clock: run graphs with cloud providers on the
    ``RealClock``.) The work runs in the calling task and is cancelled on timeout; an error
    it raises propagates unchanged.
    """

    def late() -> ProviderTimeoutError:
        return ProviderTimeoutError("fallback", f"{what} gave no answer within {seconds:g} s")

    done: list[T] = []
    async with deadline(clock, seconds, error=late):
        done.append(await work)
    return done[0]
