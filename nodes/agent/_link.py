""":class:`SessionLink`: the session's side of its graph: commands out, ports for the nodes.

The session sends its commands through its :class:`SessionCommands` node and publishes its
events on the run's bus through it; the controller and the tool executor ask the session
for what they need through this object (it implements :class:`SchedulerPort` and
:class:`ToolPort`). It also knows which replies are open, so the session can tell when it
is idle without reading the controller.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voicegraph.graph import Clock, PlayoutMark, RunnerError, ToolCall, UsageError, UserTurn
from voicegraph.nodes.llm import ChatContext, ChatItem, ChatMessage, LLMNode, ReplyRequest
from voicegraph.nodes.tools import FunctionTool, StopResponse
from voicegraph.nodes.turn import AllowInterruptions, TurnCommand

from ._activity import AgentActivity
from ._agent import Agent, AgentHandoff
from ._bus import SessionBusEvent
from ._commands import (
    EnteringCommand,
    InterruptCommand,
    SessionCommands,
    ShutdownCommand,
    SpeakCommand,
    SuspendCommand,
    SwitchCommand,
)
from ._context import RunContext, current_run_context, session_scope
from ._events import ErrorEvent, SessionEvent, SpeechCreatedEvent
from ._ports import Switch
from ._speech import SpeechHandle, SpeechSource

if TYPE_CHECKING:
    from ._session import AgentSession

__all__ = ["SessionLink"]

log = logging.getLogger(__name__)


class SessionLink:
    """The session's commands, events and open replies (see the module docstring).

    Args:
        session: the session.
        commands: its command node.
        llm: its LLM node.
        allow_interruptions: the session's default for replies.
        emit_now: delivers an event at once (when no run carries it on its bus).
        changed: called when a reply opens or closes (the session checks its idleness).
        published: called after each session event published on the bus (the session
            reads its subscription at once when it fills, so it loses no event).
        failed: called with the exception of a failed ``on_user_turn_completed`` (the
            session raises it from ``run()``).
    """

    def __init__(
        self,
        session: AgentSession[Any],
        commands: SessionCommands,
        llm: LLMNode,
        *,
        allow_interruptions: bool,
        emit_now: Callable[[SessionEvent], None],
        changed: Callable[[], None],
        published: Callable[[], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.session = session
        self.commands = commands
        self.llm = llm
        self.allow_interruptions = allow_interruptions
        self.emit_now = emit_now
        self.changed = changed
        self.published = published
        self.failed = failed
        self.activity: AgentActivity | None = None
        self.turn = False
        """Whether the commands node reaches a turn detector (a session with audio)."""
        self._allowed_sent: bool | None = None  # what the turn detector was last told
        self.audio = False
        self.running: SpeechHandle | None = None
        """The reply the controller runs (as it last said)."""
        self.open: dict[str, SpeechHandle] = {}
        """Replies scheduled and not done, by id (set-aside ones too)."""
        self.suspended: set[str] = set()
        """Replies set aside while an ``AgentTask`` they started runs (not busy)."""
        self.nested: set[str] = set()
        """Replies set aside while speech their tools scheduled plays (still busy)."""
        self._switches: dict[int, Switch] = {}
        self._next_switch = 0
        self._entering_sent = False

    # ------------------------------------------------------------------ state

    @property
    def busy(self) -> bool:
        """Whether a reply runs or waits, or an agent switch waits (set-aside replies of
        running ``AgentTask``\\ s do not count)."""
        if self._switches:
            return True
        return any(sid not in self.suspended for sid in self.open)

    def emit(self, event: SessionEvent) -> None:
        """Report ``event``: on the run's bus (in order with the nodes' events), or at once."""
        try:
            self.commands.publish(SessionBusEvent(event))
        except (UsageError, RunnerError):  # not running yet, or the run is over
            self.emit_now(event)
            return
        self.published()

    # ------------------------------------------------------------------ commands

    def schedule(
        self, frame: UserTurn | ReplyRequest, source: SpeechSource, allow: bool | None
    ) -> SpeechHandle:
        """Schedule a reply for ``frame`` (``say``, ``generate_reply``, ``run``).

        Raises:
            UsageError: the graph takes no more commands (nothing is left scheduled).
        """
        speech = self._new(frame, source=source, user_initiated=True, allow=allow)
        host = self._tool_speech_of_caller()
        try:
            if host is not None and self.activity is not None:
                self.activity.nest_speech(host)
            self.commands.push(
                SpeakCommand.of(
                    speech.id, frame, source=source, user_initiated=True,
                    allow_interruptions=speech.allow_interruptions, entering=self.entering(),
                )
            )  # fmt: skip
        except UsageError:
            del self.open[speech.id]
            self.changed()
            raise
        self.announce(speech)
        return speech

    def _tool_speech_of_caller(self) -> SpeechHandle | None:
        """The running reply whose tool is scheduling speech now (``None``: not a tool's)."""
        context = current_run_context()
        if context is None or context.session is not self.session:
            return None
        speech = context.speech_handle
        if speech is None or speech.done() or speech.id not in self.open:
            return None
        if speech.id in self.suspended:  # a task of it runs: it is not the running reply
            return None
        return speech

    def interrupt(self, reason: str, speech_id: str = "") -> None:
        """Cut the running reply off and drop the waiting ones (or just ``speech_id``)."""
        self.commands.push(InterruptCommand(reason, speech_id))

    def switch(self, apply: Switch, first: bool) -> None:
        """Run ``apply`` between replies (before the queued ones if ``first``).

        Raises:
            UsageError: the graph takes no more commands (nothing is left waiting).
        """
        self.commands.push(SwitchCommand(self._next_switch + 1, first))
        self._next_switch += 1
        self._switches[self._next_switch] = apply
        self.changed()

    def suspend(self, speech: SpeechHandle, nested: bool = False) -> None:
        """Set ``speech`` aside while an ``AgentTask`` it started runs (``nested``: while
        speech one of its tools scheduled plays; it still counts as busy)."""
        self.commands.push(SuspendCommand(speech.id))
        (self.nested if nested else self.suspended).add(speech.id)
        self.changed()

    def sync_entering(self) -> None:
        """Tell the controller when agents start or stop entering (``on_enter`` running)."""
        entering = self.entering()
        if entering != self._entering_sent and not self.commands.ended:
            self._entering_sent = entering
            self.commands.push(EnteringCommand(entering))

    def shutdown(self) -> None:
        """Close: cut everything off."""
        if not self.commands.ended:
            self.commands.push(ShutdownCommand())

    # ------------------------------------------------------------------ replies

    def _allow(self, allow: bool | None) -> bool:
        if allow is None:
            agent = self.activity.agent if self.activity is not None else None
            allow = agent.allow_interruptions if agent is not None else None
        return self.allow_interruptions if allow is None else allow

    def _new(
        self, frame: UserTurn | ReplyRequest, *, source: SpeechSource, user_initiated: bool,
        allow: bool | None,
    ) -> SpeechHandle:  # fmt: skip
        speech = SpeechHandle(
            frame, source=source, user_initiated=user_initiated,
            allow_interruptions=self._allow(allow),
        )  # fmt: skip
        speech.bind_interrupter(lambda s: self.interrupt("interrupt", s.id))
        self.open[speech.id] = speech
        speech.add_done_callback(self._closed)
        self.changed()
        return speech

    def _closed(self, speech: SpeechHandle) -> None:
        if self.open.pop(speech.id, None) is not None:  # not reported by speech_done
            self.suspended.discard(speech.id)
            self.nested.discard(speech.id)
            self.changed()

    # ------------------------------------------------------------------ SchedulerPort

    def claim(self, command: SpeakCommand) -> SpeechHandle:
        """The handle of the reply ``command`` schedules."""
        speech = self.open.get(command.speech_id)
        if speech is None:  # not ours (a replayed command): a plain reply
            speech = SpeechHandle(
                command.request(), source=command.source,
                user_initiated=command.user_initiated,
                allow_interruptions=command.allow_interruptions,
            )  # fmt: skip
        return speech

    def reply_to_turn(self, frame: UserTurn, *, announce: bool = True) -> SpeechHandle:
        """A new reply to a user turn."""
        speech = self._new(frame, source="generate_reply", user_initiated=False, allow=None)
        if announce:
            self.announce(speech)
        return speech

    def announce(self, speech: SpeechHandle) -> None:
        """Report ``speech`` as created."""
        self.emit(SpeechCreatedEvent(user_initiated=speech.user_initiated, source=speech.source,
                                     speech_handle=speech))  # fmt: skip

    def switch_for(self, switch_id: int) -> Switch | None:
        """The switch a ``SwitchCommand`` names (it counts as waiting until it ran)."""
        apply = self._switches.get(switch_id)
        if apply is None:
            return None

        def run() -> SpeechHandle | None:
            try:
                return apply()
            finally:
                self._switches.pop(switch_id, None)
                self.changed()

        return run

    def suspended_speech(self, speech_id: str) -> SpeechHandle | None:
        """The reply a ``SuspendCommand`` names."""
        return self.open.get(speech_id)

    def entering(self) -> bool:
        """Whether an agent's ``on_enter`` runs."""
        return self.activity is not None and self.activity.hooks.entering > 0

    def agent(self) -> Agent | None:
        """The active agent."""
        return self.activity.agent if self.activity is not None else None

    def history(self) -> ChatContext | None:
        """The conversation."""
        return self.llm.chat

    async def user_turn_completed(
        self, agent: Agent, message: ChatMessage
    ) -> tuple[ChatItem, ...] | None:
        """Run ``agent.on_user_turn_completed``; returns the items it added to ``turn_ctx``
        (the reply's model sees them, the history does not keep them); ``None``: recorded,
        no reply."""
        turn_ctx = self.llm.chat.copy()
        known = {item.id for item in turn_ctx.items} | {message.id}
        try:
            with session_scope(self.session):
                await agent.on_user_turn_completed(turn_ctx, message)
        except StopResponse:
            self.llm.chat.add(message)
            return None
        except Exception as exc:
            log.exception("%r: on_user_turn_completed failed", agent)
            self.emit(ErrorEvent(error=exc, source=f"{agent.id}.on_user_turn_completed"))
            if self.failed is not None:
                self.failed(exc)
            return ()
        return tuple(item for item in turn_ctx.items if item.id not in known)

    def speech_running(self, speech: SpeechHandle | None) -> None:
        """The controller runs ``speech`` now."""
        self.running = speech
        if speech is not None:
            self.suspended.discard(speech.id)
            self.nested.discard(speech.id)
            self.update_interruptions()

    def step_input_taken(self) -> None:
        """Report the LLM's step input (user message, tool round)."""
        if self.activity is not None:
            self.activity.scanner.tools()

    def speech_done(self, speech: SpeechHandle) -> Switch | None:
        """``speech`` finished: report it; the handoff it asked for runs first."""
        self.open.pop(speech.id, None)
        self.suspended.discard(speech.id)
        self.nested.discard(speech.id)
        run = None
        apply = self.activity.speech_done(speech) if self.activity is not None else None
        if apply is not None:
            self._next_switch += 1
            self._switches[self._next_switch] = apply
            run = self.switch_for(self._next_switch)
        self.changed()
        return run

    def apply_playout(self, mark: PlayoutMark) -> None:
        """Trim the reply's message to what was heard."""
        self.llm.apply_playout(mark)

    def has_audio(self, audio: bool) -> None:
        """Whether playout marks come back."""
        self.audio = audio

    def update_interruptions(self) -> None:
        """Tell the turn detector whether the running reply may be interrupted (when that
        changes)."""
        if self.turn:
            speech = self.running
            allowed = self.allow_interruptions if speech is None else speech.allow_interruptions
            if allowed != self._allowed_sent:
                self._allowed_sent = allowed
                self.send_turn(AllowInterruptions(allowed))

    def send_turn(self, command: TurnCommand) -> None:
        """Send ``command`` to the turn detector (nothing once the commands have ended)."""
        if self.turn and not self.commands.ended:
            self.commands.push(command)

    # ------------------------------------------------------------------ ToolPort

    def offered_tools(self) -> dict[str, FunctionTool]:
        """The tools the LLM offers now (the active agent's)."""
        return self.llm.tools

    def tool_speech(self) -> SpeechHandle | None:
        """The reply whose tool calls are made: the running one (or one generated ahead)."""
        if self.running is not None:
            return self.running
        ahead = [s for s in self.open.values() if s.speculative]
        return ahead[-1] if ahead else None

    def is_suspended(self, speech: SpeechHandle) -> bool:
        """Whether ``speech`` is set aside (by a running task, or while speech its tools
        scheduled plays)."""
        return speech.id in self.suspended or speech.id in self.nested

    async def tool_finished(self, speech: SpeechHandle) -> None:
        """A tool call of ``speech`` is done: if speech its tools scheduled plays, wait
        until ``speech`` is back (after that speech) before its result goes to the LLM."""
        if self.activity is not None:
            await self.activity.unnest_speech(speech)

    def request_handoff(self, handoff: AgentHandoff, speech: SpeechHandle | None) -> None:
        """A tool asked for a handoff."""
        if self.activity is not None:
            self.activity.request_handoff(handoff, speech)

    def run_context(self, speech: SpeechHandle | None, call: ToolCall) -> RunContext[Any]:
        """The context of a tool call."""
        return RunContext(self.session, speech, call, self.session.current_agent, self)

    def now(self, clock: Clock | None) -> float:
        """``clock``'s time (0 without one)."""
        return clock.now() if clock is not None else 0.0

    def with_time(self, event: SessionEvent, at: float) -> SessionEvent:
        """``event`` stamped ``created_at=at``."""
        return dataclasses.replace(event, created_at=at)
