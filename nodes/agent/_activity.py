"""The session's bookkeeping between replies: agent switches, tasks, history scans, idleness.

A mixin of :class:`~voicegraph.nodes.agent.AgentSession`, kept apart so each module stays
small. Everything here runs on the event loop between awaits: agent switches run in the
controller's scheduler while no reply is running, so the LLM is idle when they edit it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from voicegraph.graph import ConfigError, Engine, Node, PlayoutMark
from voicegraph.nodes.llm import (
    AgentHandoffItem,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    LLMNode,
)
from voicegraph.nodes.tools import FunctionTool
from voicegraph.nodes.tts import TTSNode
from voicegraph.nodes.turn import TurnDetector

from ._agent import Agent, AgentHandoff, AgentTask
from ._context import current_run_context, session_scope
from ._events import (
    ConversationItemAddedEvent,
    ErrorEvent,
    FunctionToolsExecutedEvent,
    MetricsCollectedEvent,
    SessionEvent,
    TTSMetrics,
)
from ._speech import SpeechHandle
from ._stages import Host

if TYPE_CHECKING:
    from ._controller import AgentController
    from ._options import SessionOptions
    from ._testing import RunResult
    from ._voice import VoicePipeline

__all__ = ["Activity"]

log = logging.getLogger(__name__)


class Activity:
    """Agent switching, tasks, history scanning and idleness for :class:`AgentSession`."""

    options: SessionOptions
    pipeline: VoicePipeline | None
    _stages: dict[str, Node]  # the stt, tts, vad and turn nodes the session works with

    def __init__(self) -> None:
        self._agent: Agent | None = None
        self._bound = False
        self._closing = False
        self._results: list[RunResult] = []
        self._idle = anyio.Event()
        self._idle.set()
        self._hooks: anyio.abc.TaskGroup | None = None
        self._hooks_running = 0
        self._entering = 0  # on_enter hooks running (user turns wait meanwhile)
        self._callers: list[tuple[Agent, SpeechHandle | None]] = []
        self._tasks: dict[int, anyio.Event] = {}
        self._seen: set[str] = set()
        self._seen_outputs: set[str] = set()
        self._handoff_agents: dict[str, tuple[Agent | None, Agent]] = {}
        self._metrics_seen: dict[str, int] = {}
        self._stages = {}

    def _emit(self, event: SessionEvent) -> None:
        raise NotImplementedError

    def _bind(self, agent: Agent, llm: LLMNode, controller: AgentController) -> None:
        self._llm = llm
        llm.on_tool_round = self._scan_tools
        self._controller = controller
        self._bound = True

    # ------------------------------------------------------------------ the active agent

    def _activate(self, agent: Agent, chat: ChatContext | None) -> None:
        """Make ``agent`` the one the LLM works for (instructions, tools, maybe a new chat)."""
        if chat is not None:
            self._llm.chat = chat.copy()
        self._agent = agent
        agent._session = self  # type: ignore[assignment]
        self._apply_agent(agent)

    def _apply_agent(self, agent: Agent) -> None:
        self._llm.chat.set_instructions(agent.instructions)
        self._llm.set_tools(agent.tools)
        self._apply_models(agent)

    def _model_stages(self, agent: Agent) -> list[tuple[Host, Engine | None]]:
        """(the session's host node, the agent's own engine or ``None``) per model stage."""
        stages: list[tuple[Host, Engine | None]] = [(self._llm, agent.llm)]
        for kind, model in (("stt", agent.stt), ("tts", agent.tts), ("vad", agent.vad)):
            node: Any = self._stages.get(kind)
            if node is not None:
                stages.append((node, model))
        return stages

    def _check_models(self, agent: Agent) -> None:
        """Raise ``ConfigError`` if a host cannot use one of ``agent``'s own engines."""
        for host, engine in self._model_stages(agent):
            if engine is not None:
                host.check_engine(engine)

    def _apply_models(self, agent: Agent) -> None:
        """Swap ``agent``'s own engines into the hosts (``None``: back to the session's).

        Every engine is checked before any host switches, so a refused one changes nothing.
        """
        stages = self._model_stages(agent)
        self._check_models(agent)
        for host, engine in stages:
            host.set_engine(engine)

    def _offered_tools(self) -> dict[str, FunctionTool]:
        return self._llm.tools

    def _record_handoff(self, old: Agent | None, new: Agent) -> None:
        item = AgentHandoffItem(old_agent_id=old.id if old else None, new_agent_id=new.id)
        self._handoff_agents[item.id] = (old, new)
        self._llm.chat.add(item)

    def _handoff(self, new: Agent, *, keep_history: bool) -> None:
        """Switch to ``new`` (in the scheduler, between replies)."""
        old = self._agent
        if self._callers:
            error = RuntimeError(f"cannot hand off to {new!r} while a task runs; complete it")
            self._emit(ErrorEvent(error=error, source="handoff"))
            return
        try:
            self._check_models(new)
        except ConfigError as error:
            self._emit(ErrorEvent(error=error, source="handoff"))
            return
        chat = new._chat_ctx if new._chat_ctx is not None else (
            None if keep_history else ChatContext()
        )  # fmt: skip
        self._activate(new, chat)
        self._record_handoff(old, new)
        self._scan_items()
        hooks = [] if old is None else [(f"{old.id}.on_exit", old.on_exit)]
        self._spawn_hooks(*hooks, (f"{new.id}.on_enter", new.on_enter))

    def _do_handoff(self, handoff: AgentHandoff) -> None:
        self._handoff(handoff.agent, keep_history=handoff.keep_history)

    def _request_handoff(self, handoff: AgentHandoff, speech: SpeechHandle | None) -> None:
        """A tool asked for a handoff: do it once ``speech`` has finished."""
        if speech is None:
            self._controller.switch(lambda: self._do_handoff(handoff))
            return
        if speech.handoff is not None:
            log.warning("two handoffs in one reply; the last one (%r) wins", handoff.agent)
        speech.handoff = handoff

    # ------------------------------------------------------------------ tasks

    async def _run_task(self, task: AgentTask[Any]) -> Any:
        """Run ``task`` until it completes; the caller's reply waits meanwhile."""
        context = current_run_context()
        speech = context.speech_handle if context is not None else None
        clock = self._controller.clock
        parent = self.current_agent  # type: ignore[attr-defined]
        self._check_models(task)
        if context is not None:
            context._enter_task(clock.now())
        paused_entering = context is None and self._entering > 0  # awaited in on_enter
        done = anyio.Event()
        self._tasks[id(task)] = done
        try:
            self._controller.suspend(speech)
            chat = task._chat_ctx.copy() if task._chat_ctx is not None else self._llm.chat.copy()
            self._llm.push_context(chat, task.tools)
            self._callers.append((parent, speech))
            self._activate(task, None)
            self._record_handoff(parent, task)
            self._spawn_hooks((f"{task.id}.on_enter", task.on_enter))
            if paused_entering:  # the caller's on_enter waits for the task: let turns in
                self._entering -= 1
            if task.done():  # completed before it was awaited
                self._task_completed(task)
            await done.wait()
        finally:
            self._tasks.pop(id(task), None)
            if context is not None:
                context._exit_task(clock.now())
            if paused_entering:
                self._entering += 1
        return task.result()

    def _task_completed(self, task: AgentTask[Any]) -> None:
        if id(task) in self._tasks:
            self._controller.switch(lambda: self._finish_task(task))

    def _finish_task(self, task: AgentTask[Any]) -> None:
        """Return from ``task`` to its caller (in the scheduler, between replies)."""
        if not self._callers or self._agent is not task:
            return
        parent, speech = self._callers.pop()
        nested = self._llm.pop_context()
        outer = self._llm.chat
        known = {item.id for item in outer.items}
        for item in nested.items:
            keep = isinstance(item, AgentHandoffItem) or (
                isinstance(item, ChatMessage) and item.role != "system"
            )
            if keep and item.id not in known:
                outer.add(item)
        self._agent = parent
        self._apply_models(parent)
        self._record_handoff(task, parent)
        self._controller.resume(speech)
        self._scan_items()
        self._spawn_hooks((f"{task.id}.on_exit", task.on_exit))
        done = self._tasks.get(id(task))
        if done is not None:
            done.set()

    # ------------------------------------------------------------------ after each reply

    def _speech_done(self, speech: SpeechHandle) -> None:
        self._scan_tools()
        self._scan_items()
        self._scan_metrics()
        handoff, speech.handoff = speech.handoff, None
        if handoff is not None and speech.generated:
            self._controller.switch(lambda: self._do_handoff(handoff))
        self._check_idle()

    def _apply_playout(self, mark: PlayoutMark) -> None:
        self._llm.apply_playout(mark)

    def _new_items(self, seen: set[str]) -> list[Any]:
        new = []
        for item in reversed(self._llm.chat.items):
            if item.id in seen:
                break
            new.append(item)
        new.reverse()
        return new

    def _scan_items(self, *, upto_reply: bool = False) -> None:
        """Report the items committed to the history since the last scan.

        With ``upto_reply``, stop before the first assistant message (a reply still being
        generated or played is committed when it is done).
        """
        for item in self._new_items(self._seen):
            if upto_reply and isinstance(item, ChatMessage) and item.role == "assistant":
                break
            self._seen.add(item.id)
            if isinstance(item, ChatMessage) and item.role == "system":
                continue
            if isinstance(item, ChatMessage | AgentHandoffItem):
                self._emit(ConversationItemAddedEvent(item=item))
            for result in self._results:
                if not (isinstance(item, ChatMessage) and item.role == "user"):
                    old, new = self._handoff_agents.get(item.id, (None, None))
                    result._add(item, old, new)

    def _scan_tools(self) -> None:
        """Report a tool round once the LLM has taken its results up, and the user's message
        once the LLM has taken it."""
        self._scan_items(upto_reply=True)
        rounds: list[tuple[list[FunctionCall], list[FunctionCallOutput]]] = []
        for item in self._new_items(self._seen_outputs):
            self._seen_outputs.add(item.id)
            if isinstance(item, FunctionCall):
                if not rounds or rounds[-1][1]:  # calls after outputs: the next round
                    rounds.append(([], []))
                rounds[-1][0].append(item)
            elif isinstance(item, FunctionCallOutput) and rounds:
                rounds[-1][1].append(item)
        for calls, outputs in rounds:
            if outputs:
                self._emit(
                    FunctionToolsExecutedEvent(function_calls=calls, function_call_outputs=outputs)
                )

    def _scan_metrics(self) -> None:
        sources: list[tuple[str, list[Any]]] = [("llm", list(self._llm.metrics))]
        turn, tts = self._stages.get("turn"), self._stages.get("tts")
        if isinstance(turn, TurnDetector):
            sources.append(("turn", list(turn.decisions)))
        if isinstance(tts, TTSNode):
            sources.append(("tts", [TTSMetrics(ttfb=t) for t in tts.ttfb]))
        for name, values in sources:
            seen = self._metrics_seen.get(name, 0)
            if len(values) < seen:  # a bounded history rolled over
                seen = 0
            for value in values[seen:]:
                self._emit(MetricsCollectedEvent(metrics=value))
            self._metrics_seen[name] = len(values)

    # ------------------------------------------------------------------ hooks and idleness

    def _spawn_hooks(self, *hooks: tuple[str, Callable[[], Coroutine[Any, Any, None]]]) -> None:
        """Run agent hooks one after the other, as a task of the session."""
        if self._hooks is None or not hooks:
            return
        self._hooks_running += 1
        self._entering += sum(name.endswith(".on_enter") for name, _ in hooks)  # from now on
        self._check_idle()

        async def run() -> None:
            try:
                with session_scope(self):  # type: ignore[arg-type]
                    for name, hook in hooks:
                        entering = name.endswith(".on_enter")
                        try:
                            await hook()
                        except Exception as exc:
                            log.exception("%s failed", name)
                            self._emit(ErrorEvent(error=exc, source=name))
                        finally:
                            self._entering -= entering
                            self._controller._poke()
            finally:
                self._hooks_running -= 1
                self._check_idle()

        self._hooks.start_soon(run)

    def _check_idle(self) -> None:
        ended = getattr(self, "_done", None)
        if ended is not None and ended.is_set():
            self._idle.set()
            return
        busy = self._bound and (self._controller.busy or self._hooks_running > 0)
        if busy and self._idle.is_set():
            self._idle = anyio.Event()
        elif not busy:
            if self._bound:
                self._scan_items()
            self._idle.set()

    async def _wait_idle(self) -> None:
        while True:
            await self._idle.wait()
            self._check_idle()
            if self._idle.is_set():
                break
        error = getattr(self, "_error", None)
        if error is not None:
            raise error

    def _update_interruptions(self) -> None:
        """Tell the turn detector whether the running reply may be interrupted."""
        speech = self._controller.current
        turn = self._stages.get("turn")
        if isinstance(turn, TurnDetector):
            allowed = self.options.allow_interruptions if speech is None else (
                speech.allow_interruptions
            )  # fmt: skip
            turn.set_interruptions_allowed(allowed)
