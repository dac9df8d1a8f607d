""":class:`HookRunner`: runs the agents' hooks (``on_enter``, ``on_exit``) as session tasks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.abc

from ._events import ErrorEvent, SessionEvent

__all__ = ["Hook", "HookRunner"]

log = logging.getLogger(__name__)

Hook = tuple[str, Callable[[], Coroutine[Any, Any, None]]]
"""``(name, hook)``, the name as ``"<agent id>.on_enter"``."""


class HookRunner:
    """Run agent hooks one after the other, as tasks of the session, and count them.

    Args:
        emit: reports a hook's failure (``ErrorEvent``).
        changed: called when a hook starts or ends (the session re-checks its idleness and
            the replies waiting for an ``on_enter``).
        scope: the context a hook runs in (marks the code as the session's).
        failed: called with a hook's exception too (the session raises it from ``run()``).
    """

    def __init__(
        self,
        emit: Callable[[SessionEvent], None],
        changed: Callable[[], None],
        scope: Callable[[], Any],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.emit = emit
        self.failed = failed
        self.changed = changed
        self.scope = scope
        self.group: anyio.abc.TaskGroup | None = None
        """The session's task group for hooks (``None``: not running)."""
        self.running = 0
        """Hook sequences running."""
        self.entering = 0
        """``on_enter`` hooks running (replies to user turns wait meanwhile)."""

    def spawn(self, *hooks: Hook) -> None:
        """Run ``hooks`` one after the other, as a task of the session."""
        group = self.group
        if group is None or not hooks:
            return
        self.running += 1
        pending = sum(name.endswith(".on_enter") for name, _ in hooks)
        self.entering += pending  # from now on
        self.changed()

        async def run() -> None:
            nonlocal pending
            try:
                with self.scope():
                    for name, hook in hooks:
                        entering = name.endswith(".on_enter")
                        pending -= entering
                        try:
                            await hook()
                        except Exception as exc:
                            log.exception("%s failed", name)
                            self.emit(ErrorEvent(error=exc, source=name))
                            if self.failed is not None:
                                self.failed(exc)
                        finally:
                            self.entering -= entering
                            self.changed()
            finally:
                self.entering -= pending  # the on_enter hooks that never ran (cancelled)
                self.running -= 1
                self.changed()

        group.start_soon(run)
