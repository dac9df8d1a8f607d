"""How a tool's failure is told apart from a cancellation, and printed whatever it is.

A tool's call is cancelled from outside (an interrupt of its turn, its timeout, the end of the
run): that cancellation must reach the task that runs the tool. A tool may also *raise*
``asyncio.CancelledError`` (or another ``BaseException``) itself, with nothing cancelled: that
is the tool failing, and its caller turns it into an error result for the LLM. The difference
is whether the calling task is being cancelled when the exception arrives.
"""

from __future__ import annotations

import asyncio
import math

import anyio
import anyio.lowlevel

__all__ = ["being_cancelled", "must_propagate", "safe_str"]

ALWAYS_PROPAGATE = (KeyboardInterrupt, SystemExit, GeneratorExit)
"""Raised by a tool, these still end the run (Ctrl-C, ``sys.exit()``, a coroutine closed)."""


def being_cancelled() -> bool:
    """Whether the calling task is being cancelled.

    True when an enclosing cancel scope (not shielded from it) has been cancelled, which is
    how an interrupt, a timeout and a shutdown reach a tool; on asyncio also when the task has
    a pending ``Task.cancel()`` (``asyncio.run`` cancels its main task on Ctrl-C that way).
    A tool that cancels its own task with ``asyncio.current_task().cancel()`` therefore counts
    as cancelled; a tool that merely raises ``CancelledError`` does not.
    """
    if anyio.current_effective_deadline() == -math.inf:
        return True
    try:
        task = asyncio.current_task()
    except RuntimeError:  # pragma: no cover - not on asyncio (trio): the scope says it all
        return False
    return task is not None and task.cancelling() > 0


async def must_propagate(exc: BaseException) -> bool:
    """Whether ``exc``, raised while a tool ran, must propagate rather than become its result.

    ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` (alone or inside an exception
    group) always propagate, and so does anything while the call itself is being cancelled
    (:func:`being_cancelled`). Anything else, including a ``CancelledError`` the tool raised on
    its own, is the tool's failure.

    When the call is being cancelled by a cancel scope, this raises the scope's own
    cancellation (it passes a checkpoint): a ``CancelledError`` the tool made up before the
    scope delivered its cancellation is not recognised by the scope and would escape it.
    """
    if isinstance(exc, BaseExceptionGroup):
        if exc.subgroup(ALWAYS_PROPAGATE) is not None:
            return True
    elif isinstance(exc, ALWAYS_PROPAGATE):
        return True
    if not being_cancelled():
        return False
    await anyio.lowlevel.checkpoint_if_cancelled()
    return True  # a native Task.cancel(): the exception goes on as it came


def safe_str(obj: object) -> str:
    """``str(obj)``, or a placeholder naming its type when ``str()`` itself raises."""
    try:
        return str(obj)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # str() is sync: no cancellation can arrive through it
        return f"<{type(obj).__name__} object; its str() raised {type(exc).__name__}>"
