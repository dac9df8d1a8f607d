""":class:`SpeechHandle`: one scheduled reply of the agent, as in LiveKit Agents."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Literal

import anyio

from voicegraph.graph import UsageError, UserTurn
from voicegraph.nodes.llm import ReplyRequest

from ._context import current_run_context

if TYPE_CHECKING:
    from ._agent import Agent, AgentHandoff

__all__ = ["SpeechHandle", "SpeechSource"]

SpeechSource = Literal["say", "generate_reply"]
_ids = itertools.count(1)


class SpeechHandle:
    """A reply the session scheduled: ``say()``, ``generate_reply()`` or the answer to a turn.

    Replies play one at a time, in the order they were scheduled. Await the handle (or
    :meth:`wait_for_playout`) to wait until it has played out or was interrupted.

    Attributes:
        id: ``"speech_<n>"``.
        source: ``"say"`` or ``"generate_reply"``.
        user_initiated: scheduled by your code rather than by a user turn.
        allow_interruptions: whether the user's speech may cut it off.
        interrupted: it was cut off (by the user, ``interrupt()`` or ``session.interrupt()``).
    """

    def __init__(
        self,
        frame: UserTurn | ReplyRequest,
        *,
        source: SpeechSource,
        user_initiated: bool,
        allow_interruptions: bool = True,
    ) -> None:
        self.id = f"speech_{next(_ids)}"
        self.source: SpeechSource = source
        self.user_initiated = user_initiated
        self.allow_interruptions = allow_interruptions
        self.interrupted = False
        self.frame = frame
        """What the session sends to the LLM for this reply."""
        self.epoch = -1
        """The turn generation the reply was sent in (``-1`` until it starts)."""
        self.playing = False
        self.generated = False
        self.agent: Agent | None = None
        """The agent that was active when the reply started."""
        self.handoff: AgentHandoff | None = None
        self.speculative = False
        """Generated ahead of the end of the user's turn (preemptive generation)."""
        self.played_text = ""
        """What the listener has heard of this reply so far (from the playout marks)."""
        self._hearing: list[tuple[int, anyio.Event]] = []  # (words, set once heard)
        self._authorized = anyio.Event()
        self._authorized.set()
        self._done = anyio.Event()
        self._callbacks: list[Callable[[SpeechHandle], Any]] = []
        self._interrupter: Callable[[SpeechHandle], None] | None = None

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<SpeechHandle {self.id} {self.source} {state}>"

    def done(self) -> bool:
        """Whether the reply has finished (played out, or interrupted)."""
        return self._done.is_set()

    async def wait_for_playout(self) -> None:
        """Wait until the reply has finished playing (or was interrupted).

        Inside a tool (e.g. ``await context.session.say("One moment")``), the wait does not
        count toward the tool's timeout.
        """
        context = current_run_context()
        with context.timeout_paused() if context is not None else nullcontext():
            await self._done.wait()

    def __await__(self) -> Generator[Any, None, SpeechHandle]:
        async def wait() -> SpeechHandle:
            await self.wait_for_playout()
            return self

        return wait().__await__()

    async def authorized(self) -> None:
        """Wait until a speculative reply is confirmed (returns at once for others)."""
        await self._authorized.wait()

    def speculate(self) -> None:
        """Mark it generated ahead of the end of the user's turn (tool calls wait)."""
        self.speculative = True
        self._authorized = anyio.Event()

    def confirm(self) -> None:
        """The user's turn was confirmed: its tool calls may run."""
        self.speculative = False
        self._authorized.set()

    def interrupt(self) -> SpeechHandle:
        """Cut this reply off (or drop it if it has not started). Returns the handle.

        Raises:
            UsageError: the reply does not allow interruptions.
        """
        if not self.allow_interruptions:
            raise UsageError(
                f"{self.id} does not allow interruptions: it was created with "
                "allow_interruptions=False; let it finish (await it) instead"
            )
        if not self.done() and self._interrupter is not None:
            self._interrupter(self)
        return self

    def bind_interrupter(self, interrupter: Callable[[SpeechHandle], None]) -> None:
        """What :meth:`interrupt` calls (the session sets it when it schedules the reply)."""
        self._interrupter = interrupter

    def add_done_callback(self, callback: Callable[[SpeechHandle], Any]) -> None:
        """Call ``callback(handle)`` when the reply finishes (at once if it has)."""
        if self.done():
            callback(self)
        else:
            self._callbacks.append(callback)

    def heard(self, text: str) -> None:
        """A playout mark: ``text`` of this reply has been heard."""
        self.played_text = text
        words = len(text.split())
        waiting = []
        for wanted, event in self._hearing:
            if wanted <= words:
                event.set()
            else:
                waiting.append((wanted, event))
        self._hearing = waiting

    async def wait_heard(self, words: int) -> None:
        """Wait until ``words`` words of this reply have been heard, or it is done."""
        if self.done() or len(self.played_text.split()) >= words:
            return
        event = anyio.Event()
        self._hearing.append((words, event))
        await event.wait()

    def mark_done(self, *, interrupted: bool = False) -> None:
        """Finish the reply (the scheduler calls it); callbacks run, waiters wake."""
        if self.done():
            return
        self.interrupted = self.interrupted or interrupted
        for _, event in self._hearing:
            event.set()
        self._hearing.clear()
        self._done.set()
        for callback in self._callbacks:
            callback(self)
        self._callbacks.clear()
