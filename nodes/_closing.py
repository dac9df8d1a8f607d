"""Closing an engine's stream from a node: shielded, bounded in time, errors logged."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable

import anyio

from voicegraph.graph import Clock, RealClock, deadline

__all__ = ["CLOSE_TIMEOUT", "close_stream"]

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 2.0
"""Seconds an engine's stream gets to close (real time, and the run's clock's time)."""


class _Expired(Exception):
    """The close ran out of time on the run's clock (raised by :func:`deadline`, caught here)."""


async def close_stream(
    stream: object,
    engine: str,
    *,
    clock: Clock | None = None,
    timeout: float = CLOSE_TIMEOUT,
) -> None:
    """Close ``stream`` (an async generator, or anything with ``aclose()``) and return.

    The close is shielded, so an interrupt or a cancellation cannot cut an engine's cleanup
    short, and bounded: it is abandoned after ``timeout`` seconds of real time, or of
    ``clock``'s time if that comes first (so it holds on a ``VirtualClock`` too), with an
    error logged naming ``engine``. An engine whose ``finally`` waits on the network can
    therefore delay a barge-in by at most ``timeout``, never block it. Errors the close
    raises are logged, not raised: the caller is stopping the stream and moves on.
    """
    if inspect.isasyncgen(stream) and stream.ag_frame is None:
        return  # it has finished (or was closed): nothing to wait for, no task steps spent
    close: Callable[[], Awaitable[object]] | None = getattr(stream, "aclose", None)
    if close is None:
        return
    with anyio.CancelScope(shield=True):
        with anyio.move_on_after(timeout) as real:
            try:
                if clock is None or type(clock) is RealClock:
                    await close()
                else:
                    async with deadline(clock, timeout, error=_Expired):
                        await close()
            except _Expired:
                real.cancel()  # reported below, as for the real-time limit
            except Exception:
                log.exception("closing the stream of %s failed", engine)
        if real.cancel_called:
            log.error(
                "closing the stream of %s took longer than %g s; abandoned it (its cleanup may "
                "not have finished)",
                engine,
                timeout,
            )
