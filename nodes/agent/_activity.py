""":class:`AgentActivity`: the active agent, agent switches and tasks, for a session.

Everything here runs on the event loop between awaits: agent switches run in the
controller's scheduler while no reply is running (they reach it as ``SwitchCommand``\\ s
and run when the scheduler asks the session for them), so the LLM is idle when they edit it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext, suppress
from typing import TYPE_CHECKING, Any

import anyio

from voicegraph.graph import ConfigError, Engine, Node, UsageError
from voicegraph.nodes.llm import (
    AgentHandoffItem,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    LLMNode,
)

from ._agent import Agent, AgentHandoff, AgentTask
from ._context import current_run_context
from ._events import ErrorEvent, SessionEvent
from ._history import HistoryScanner
from ._hooks import HookRunner
from ._pipeline import apply_pipeline_hooks
from ._ports import Switch
from ._speech import SpeechHandle
from ._stages import Host

if TYPE_CHECKING:
    from ._session import AgentSession

__all__ = ["AgentActivity"]

log = logging.getLogger(__name__)


class AgentActivity:
    """Which agent the session's LLM works for, and switching it (LiveKit's agent activity).

    It implements :class:`~._ports.AgentHost` for the agents it runs.

    Args:
        session: the session (agents get it as ``agent.session``).
        llm: the session's LLM node (instructions, tools, chat, engine).
        stages: the session's other model stages by kind (per-agent engines).
        scanner: reports the history's new items.
        hooks: runs the agents' hooks.
        emit: reports session events.
        switch: schedules an agent switch between replies (``first``: before the queued
            ones).
        suspend: sets the running reply aside while an ``AgentTask`` it started runs
            (``False``), or while speech its tools scheduled plays (``True``).
    """

    def __init__(
        self,
        session: AgentSession[Any],
        llm: LLMNode,
        stages: dict[str, Node],
        scanner: HistoryScanner,
        hooks: HookRunner,
        emit: Callable[[SessionEvent], None],
        switch: Callable[[Switch, bool], None],
        suspend: Callable[[SpeechHandle, bool], None],
    ) -> None:
        self.session = session
        self.llm = llm
        self.stages = stages
        self.scanner = scanner
        self.hooks = hooks
        self.emit = emit
        self._switch = switch
        self._suspend = suspend
        self.agent: Agent | None = None
        """The active agent (an ``AgentTask`` while one runs)."""
        self._callers: list[tuple[Agent, SpeechHandle | None]] = []
        self._tasks: dict[int, anyio.Event] = {}
        self._nested: dict[str, tuple[anyio.Event, bool]] = {}  # speech id -> (back, asked)

    # ------------------------------------------------------------------ AgentHost

    def current_agent(self) -> Agent | None:
        """The active agent."""
        return self.agent

    def history(self) -> ChatContext:
        """The session's conversation."""
        return self.llm.chat

    def refresh(self, agent: Agent) -> None:
        """``agent`` changed its instructions or tools: apply them if it is active."""
        if agent is self.agent:
            self.apply_agent(agent)

    def replace_history(self, agent: Agent, chat: ChatContext) -> bool:
        """Make ``chat``'s items the conversation, if ``agent`` is active (else ``False``).

        The agent's instructions stay in front; the new items are not reported as added
        (LiveKit's ``update_chat_ctx`` emits no ``conversation_item_added``).
        """
        if agent is not self.agent:
            return False
        self.llm.chat.items[:] = list(chat.items)
        self.apply_agent(agent)
        self.scanner.mark_seen()
        return True

    # ------------------------------------------------------------------ the active agent

    def activate(self, agent: Agent, chat: ChatContext | None) -> None:
        """Make ``agent`` the one the LLM works for (instructions, tools, maybe a new chat)."""
        if chat is not None:
            self.llm.chat = chat.copy()
        self.agent = agent
        agent.bind(self.session, self)
        self.apply_agent(agent)

    def apply_agent(self, agent: Agent) -> None:
        """Set the LLM's instructions, tools and the stages' engines from ``agent``."""
        self.llm.chat.set_instructions(agent.instructions)
        self.llm.set_tools(agent.tools)
        self._apply_models(agent)

    def _model_stages(self, agent: Agent) -> list[tuple[Host, Engine | None]]:
        """(the session's host node, the agent's own engine or ``None``) per model stage."""
        stages: list[tuple[Host, Engine | None]] = [(self.llm, agent.llm)]
        for kind, model in (("stt", agent.stt), ("tts", agent.tts), ("vad", agent.vad)):
            node: Any = self.stages.get(kind)
            if node is not None:
                stages.append((node, model))
        return stages

    def check_models(self, agent: Agent) -> None:
        """Raise ``ConfigError`` if a host cannot use one of ``agent``'s own engines."""
        for host, engine in self._model_stages(agent):
            if engine is not None:
                host.check_engine(engine)

    def _apply_models(self, agent: Agent) -> None:
        """Swap ``agent``'s own engines into the hosts (``None``: back to the session's).

        Every engine is checked before any host switches, so a refused one changes nothing.
        """
        stages = self._model_stages(agent)
        self.check_models(agent)
        for host, engine in stages:
            host.set_engine(engine)
        apply_pipeline_hooks(agent, self.llm, self.stages, self.emit)  # its llm_node, tts_node..

    # ------------------------------------------------------------------ handoffs

    def handoff(self, new: Agent, *, keep_history: bool) -> None:
        """Switch to ``new`` (in the scheduler, between replies)."""
        old = self.agent
        if self._callers:
            error = UsageError(f"cannot hand off to {new!r} while a task runs; complete it")
            self.emit(ErrorEvent(error=error, source="handoff"))
            return
        try:
            self.check_models(new)
        except ConfigError as error:
            self.emit(ErrorEvent(error=error, source="handoff"))
            return
        start = new.initial_chat_ctx
        chat = start if start is not None else (None if keep_history else ChatContext())
        self.activate(new, chat)
        self.scanner.record_handoff(old, new)
        self.scanner.items()
        hooks = [] if old is None else [(f"{old.id}.on_exit", old.on_exit)]
        self.hooks.spawn(*hooks, (f"{new.id}.on_enter", new.on_enter))

    def handoff_switch(self, handoff: AgentHandoff) -> Switch:
        """The switch that performs ``handoff``."""

        def apply() -> None:
            self.handoff(handoff.agent, keep_history=handoff.keep_history)

        return apply

    def request_handoff(self, handoff: AgentHandoff, speech: SpeechHandle | None) -> None:
        """A tool asked for a handoff: do it once ``speech`` has finished."""
        if speech is None:
            self._switch(self.handoff_switch(handoff), True)
            return
        if speech.handoff is not None:
            log.warning("two handoffs in one reply; the last one (%r) wins", handoff.agent)
        speech.handoff = handoff

    # ------------------------------------------------------------------ tasks

    async def run_task(self, task: AgentTask[Any]) -> Any:
        """Run ``task`` until it completes; the caller's reply waits meanwhile.

        If the caller stops waiting (its tool call is cancelled), the session returns to
        the caller's agent between replies, as if the task had completed.
        """
        context = current_run_context()
        speech = context.speech_handle if context is not None else None
        parent = self.session.current_agent
        self.check_models(task)
        paused_entering = context is None and self.hooks.entering > 0  # awaited in on_enter
        done = anyio.Event()
        self._tasks[id(task)] = done
        waiting = context.awaiting_task() if context is not None else nullcontext()
        entered = finished = False
        with waiting:  # the calling tool's timeout does not run meanwhile
            try:
                if speech is not None:
                    self._suspend(speech, False)
                start = task.initial_chat_ctx
                chat = start.copy() if start is not None else self.llm.chat.copy()
                self.llm.push_context(chat, task.tools)
                self._callers.append((parent, speech))
                entered = True
                self.activate(task, None)
                self.scanner.record_handoff(parent, task)
                self.hooks.spawn((f"{task.id}.on_enter", task.on_enter))
                if paused_entering:  # the caller's on_enter waits for the task: let turns in
                    self.hooks.entering -= 1
                    self.hooks.changed()
                if task.done():  # completed before it was awaited
                    self.task_completed(task)
                await done.wait()
                finished = True
            finally:
                self._tasks.pop(id(task), None)
                if entered and not finished:
                    self._abandon(task)
                if paused_entering:
                    self.hooks.entering += 1
                    self.hooks.changed()
        return task.result()

    def task_completed(self, task: AgentTask[Any]) -> None:
        """``task`` called ``complete``: return to its caller between replies."""
        if id(task) in self._tasks:
            self._switch(lambda: self._finish_task(task), True)

    def _abandon(self, task: AgentTask[Any]) -> None:
        """The caller stopped awaiting ``task``: return to the caller between replies."""
        if self.agent is not task:  # it failed to start: undo at once (nothing ran)
            parent, _ = self._callers.pop()
            self.llm.pop_context()
            self.activate(parent, None)
            return
        with suppress(UsageError):  # the session has ended: nothing runs any more
            self._switch(lambda: self._finish_task(task), True)

    def _finish_task(self, task: AgentTask[Any]) -> SpeechHandle | None:
        """Return from ``task`` to its caller; returns the caller's reply to resume."""
        if not self._callers or self.agent is not task:
            return None
        parent, speech = self._callers.pop()
        nested = self.llm.pop_context()
        outer = self.llm.chat
        known = {item.id for item in outer.items}
        tools = task.preserve_function_call_history
        for item in nested.items:
            keep = (
                isinstance(item, AgentHandoffItem)
                or (isinstance(item, ChatMessage) and item.role != "system")
                or (tools and isinstance(item, FunctionCall | FunctionCallOutput))
            )
            if keep and item.id not in known:
                outer.add(item)
        self.agent = parent
        self._apply_models(parent)
        self.scanner.record_handoff(task, parent)
        self.scanner.items()
        self.hooks.spawn((f"{task.id}.on_exit", task.on_exit))
        done = self._tasks.get(id(task))
        if done is not None:
            done.set()
        return speech

    # ------------------------------------------------------------------ speech from tools

    def nest_speech(self, speech: SpeechHandle) -> None:
        """A tool of the running reply ``speech`` schedules speech (``say``,
        ``generate_reply``): set ``speech`` aside, with its pending tool calls, so that speech
        plays while the tool runs (LiveKit plays it then too); ``speech`` comes back once
        its tool calls are done (:meth:`unnest_speech`), after the speech scheduled meanwhile.

        The conversation stays the same (what is said goes into the history between the
        call and its output).
        """
        if speech.id in self._nested:
            return
        back = anyio.Event()
        self._nested[speech.id] = (back, False)
        speech.add_done_callback(lambda _: back.set())  # closed meanwhile: nothing to wait for
        self.llm.push_context(self.llm.chat, list(self.llm.tools.values()))
        self._suspend(speech, True)

    async def unnest_speech(self, speech: SpeechHandle) -> None:
        """A tool call of ``speech`` is done: if ``speech`` was set aside by
        :meth:`nest_speech`, bring it back after the speech waiting before it, and wait until
        it is back."""
        entry = self._nested.get(speech.id)
        if entry is None:
            return
        back, asked = entry
        if not asked:
            self._nested[speech.id] = (back, True)

            def apply() -> SpeechHandle | None:
                if self._nested.pop(speech.id, None) is None:
                    return None
                self.llm.pop_context()
                back.set()
                return None if speech.done() else speech

            try:
                self._switch(apply, False)
            except UsageError:  # the session has ended: nothing comes back
                back.set()
        await back.wait()

    # ------------------------------------------------------------------ after each reply

    def speech_done(self, speech: SpeechHandle) -> Switch | None:
        """Report what ``speech`` added; returns the handoff it asked for, if any."""
        self.scanner.tools()
        self.scanner.items()
        self.scanner.metrics()
        handoff, speech.handoff = speech.handoff, None
        if handoff is not None and speech.generated:
            return self.handoff_switch(handoff)
        return None
