"""Closing nodes within a grace period: a close that hangs is abandoned, one that raises reported.

Every node's ``aclose()`` runs at once, each in its own task, shielded from the run's
cancellation for at most ``timeout`` seconds, as trio's ``move_on_after(t, shield=True)`` and
OTP's shutdown timeout do. A close still running then is cancelled and abandoned, with an
error logged naming the node, so shutdown always ends. A second Ctrl-C (asyncio cancels the
task natively, which no shield stops) abandons them at once.

The deadline is measured on the run's clock *and* in real time, whichever ends first. Under a
:class:`~voicegraph.runner.VirtualClock` a close that waits forever lets virtual time jump to
the deadline at once (a hung close costs no real time), and a close stuck in a thread started
through ``clock.run_sync`` (which stops virtual time) still ends after ``timeout`` real seconds.
A close that waits on something the virtual clock cannot see (a socket, a thread not started
through ``clock.run_sync``) takes zero virtual time like any such wait, so under a virtual
clock it is abandoned as soon as nothing else runs: close through ``clock.run_sync``, or use
the real clock for graphs that do network I/O.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from voicegraph.graph import Node, NodeError

if TYPE_CHECKING:
    from voicegraph.graph import Clock

__all__ = ["close_nodes", "describe_error", "log", "wait_within"]

log = logging.getLogger("voicegraph.runner")

_abandoned: set[asyncio.Task[None]] = set()
"""Abandoned close tasks, kept referenced until they end (asyncio holds tasks weakly)."""


async def close_nodes(
    nodes: Sequence[tuple[str, Node]], clock: Clock, timeout: float
) -> list[NodeError]:
    """Close every node in ``nodes`` (``(path, node)`` pairs) concurrently, within ``timeout``.

    Returns a :class:`NodeError` for each close that raised, in the order of ``nodes``. A close
    still running after ``timeout`` seconds is cancelled and abandoned (an error is logged); it
    is not an error of the run. Nodes that keep :meth:`Node.aclose`'s no-op (and do not define
    the old ``close()`` hook) are skipped.
    """
    nodes = [(path, node) for path, node in nodes if _closes(type(node))]
    if not nodes:
        return []
    loop = asyncio.get_running_loop()
    tasks = [
        (path, loop.create_task(_close(node), name=f"voicegraph:close:{path}"))
        for path, node in nodes
    ]
    await wait_within(tasks, clock, timeout, "close")
    return [
        _close_error(path, exc)
        for path, task in tasks
        if task.done() and not task.cancelled() and (exc := task.exception()) is not None
    ]


async def wait_within(
    tasks: Sequence[tuple[str, asyncio.Task[None]]], clock: Clock, timeout: float, what: str
) -> None:
    """Wait for ``tasks`` (``(node path, task)`` pairs), shielded, for at most ``timeout``.

    A task still running then is cancelled and abandoned with an error logged naming its node
    and ``what`` it was doing ("close", "stop its background work"); an error it raises later
    is logged. The deadline is on ``clock`` and in real time, whichever ends first.
    """
    cut_short = True
    try:
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + timeout
            async with anyio.create_task_group() as tg:
                tg.start_soon(_expire_on, clock, timeout, scope)
                await asyncio.wait([task for _, task in tasks])
                tg.cancel_scope.cancel()
        cut_short = False
    finally:  # also when a second Ctrl-C (a native cancellation) cuts the grace period short
        for path, task in tasks:
            if not task.done():
                _abandon(path, task, timeout, cut_short, what)


def _closes(cls: type[Node]) -> bool:
    """Whether nodes of ``cls`` have something to close (an ``aclose`` or old ``close`` hook)."""
    return cls.aclose is not Node.aclose or cls.close is not Node.close


async def _close(node: Node) -> None:
    await node.aclose()


async def _expire_on(clock: Clock, timeout: float, scope: anyio.CancelScope) -> None:
    """End the wait once ``timeout`` has passed on the run's clock (real time: the deadline)."""
    await clock.sleep(timeout)
    scope.cancel()


def _abandon(
    path: str, task: asyncio.Task[None], timeout: float, cut_short: bool, what: str
) -> None:
    why = "the run was cancelled again" if cut_short else f"it took over {timeout:g} s"
    log.error(
        "node %r did not %s (%s): abandoned it, so its resources may not have been "
        "released. Make it return promptly when cancelled, or give the Runner a longer "
        "close_timeout (now %g s)",
        path,
        what,
        why,
        timeout,
    )
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(lambda t: _forget(path, t, what))


def _forget(path: str, task: asyncio.Task[None], what: str) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("node %r raised after it was abandoned (%s)", path, what, exc_info=exc)


def _close_error(path: str, exc: BaseException) -> NodeError:
    error = NodeError(path, exc, frame="(during close)")
    error.__cause__ = exc
    return error


def describe_error(error: BaseException) -> str:
    """``error`` as one line, with where it was raised (for an exception note)."""
    text = f"{type(error).__name__}: {error}"
    inner: BaseException = error
    while inner.__cause__ is not None:  # a NodeError wraps the node's own exception
        inner = inner.__cause__
    frames = traceback.extract_tb(inner.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (raised at {last.filename}:{last.lineno} in {last.name})"
    return text
