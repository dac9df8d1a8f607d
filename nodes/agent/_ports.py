"""The typed interfaces between the agent layer's pieces (no piece reads another's privates).

* :class:`SchedulerPort`: what the controller node asks of the session driving it (reply
  handles, the active agent and its hook, what happens after a reply). The session's
  :class:`~._link.SessionLink` implements it; :class:`DetachedPort` stands in when the
  graph runs without a session (a plain ``Runner``, a replay).
* :class:`ControllerIO`: what the speech scheduler and the presence tracker use of the
  controller node (clock, epoch, output ports, interrupts, the bus).
* :class:`AgentHost`: what an :class:`~._agent.Agent` asks of the session running it.
* :class:`ToolPort`: what the tool executor asks of the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from voicegraph.graph import Clock, LLMText, PlayoutMark, UserTurn
from voicegraph.nodes.llm import ChatContext, ChatItem, ChatMessage, ReplyRequest

from ._speech import SpeechHandle

if TYPE_CHECKING:
    from voicegraph.nodes.tools import FunctionTool

    from ._agent import Agent, AgentHandoff, AgentTask
    from ._commands import SpeakCommand
    from ._context import RunContext
    from ._events import SessionEvent

__all__ = [
    "AgentHost",
    "ControllerIO",
    "DetachedPort",
    "ReplyHost",
    "SchedulerPort",
    "Switch",
    "ToolPort",
]

Switch = Callable[[], "SpeechHandle | None"]
"""An agent switch run between replies; returns a reply set aside to resume, if any."""


class SchedulerPort(Protocol):
    """What the controller node asks of the session that drives it."""

    def claim(self, command: SpeakCommand) -> SpeechHandle:
        """The handle of the reply ``command`` schedules."""
        ...

    def reply_to_turn(self, frame: UserTurn, *, announce: bool = True) -> SpeechHandle:
        """A new reply to a user turn (announced as created unless ``announce`` is false)."""
        ...

    def announce(self, speech: SpeechHandle) -> None:
        """Report ``speech`` as created (a reply generated ahead, once it is kept)."""
        ...

    def switch_for(self, switch_id: int) -> Switch | None:
        """The agent switch a ``SwitchCommand`` names."""
        ...

    def suspended_speech(self, speech_id: str) -> SpeechHandle | None:
        """The running reply a ``SuspendCommand`` names."""
        ...

    def agent(self) -> Agent | None:
        """The active agent."""
        ...

    def history(self) -> ChatContext | None:
        """The conversation (``None`` without a session)."""
        ...

    async def user_turn_completed(
        self, agent: Agent, message: ChatMessage
    ) -> tuple[ChatItem, ...] | None:
        """Run ``agent``'s ``on_user_turn_completed``; returns the items it added to the turn's
        context (for this reply only), or ``None``: the message is recorded, no reply."""
        ...

    def speech_running(self, speech: SpeechHandle | None) -> None:
        """``speech`` is now the running reply (``None``: none)."""
        ...

    def step_input_taken(self) -> None:
        """The LLM took a step's input up (the user's message, a tool round)."""
        ...

    def speech_done(self, speech: SpeechHandle) -> Switch | None:
        """``speech`` is finishing (called just before it is marked done); returns an agent
        switch to run before the next reply."""
        ...

    def apply_playout(self, mark: PlayoutMark) -> None:
        """Trim the reply's message in the history to what ``mark`` says was heard."""
        ...

    def has_audio(self, audio: bool) -> None:
        """Whether the graph's playout marks come back (a session with audio)."""
        ...

    def published(self) -> None:
        """A session event was published on the bus (the session reads it in time)."""
        ...


class ControllerIO(Protocol):
    """What the scheduler and the presence tracker use of the controller node."""

    @property
    def clock(self) -> Clock: ...
    @property
    def epoch(self) -> int: ...
    async def send_turn(self, frame: UserTurn) -> None: ...
    async def send_request(self, frame: ReplyRequest) -> None: ...
    async def send_text(self, frame: LLMText) -> None: ...
    def interrupt(self, reason: str = "", *, scope: list[str] | None = None) -> int: ...
    def publish_event(self, event: SessionEvent) -> None: ...
    def start_soon(self, func: Callable[[], Any]) -> bool: ...
    def wake(self) -> None: ...


class AgentHost(Protocol):
    """What an agent asks of the session running it."""

    def current_agent(self) -> Agent | None: ...
    def history(self) -> ChatContext: ...
    def refresh(self, agent: Agent) -> None: ...
    def replace_history(self, agent: Agent, chat: ChatContext) -> bool: ...
    async def run_task(self, task: AgentTask[Any]) -> Any: ...
    def task_completed(self, task: AgentTask[Any]) -> None: ...


class ReplyHost(Protocol):
    """What a tool's :class:`RunContext` asks of the session about the running reply."""

    @property
    def audio(self) -> bool: ...
    def update_interruptions(self) -> None: ...


class ToolPort(Protocol):
    """What the tool executor asks of the session."""

    def offered_tools(self) -> dict[str, FunctionTool]: ...
    def tool_speech(self) -> SpeechHandle | None: ...
    def is_suspended(self, speech: SpeechHandle) -> bool: ...
    async def tool_finished(self, speech: SpeechHandle) -> None: ...
    def request_handoff(self, handoff: AgentHandoff, speech: SpeechHandle | None) -> None: ...
    def run_context(self, speech: SpeechHandle | None, call: Any) -> RunContext[Any]: ...


class DetachedPort:
    """A :class:`SchedulerPort` for a controller no session drives: it answers every user
    turn and every command with a plain reply (no agent hooks, no history, no switches)."""

    def claim(self, command: SpeakCommand) -> SpeechHandle:
        return SpeechHandle(
            command.request(),
            source=command.source,
            user_initiated=command.user_initiated,
            allow_interruptions=command.allow_interruptions,
        )

    def reply_to_turn(self, frame: UserTurn, *, announce: bool = True) -> SpeechHandle:
        return SpeechHandle(frame, source="generate_reply", user_initiated=False)

    def announce(self, speech: SpeechHandle) -> None:
        pass

    def switch_for(self, switch_id: int) -> Switch | None:
        return None

    def suspended_speech(self, speech_id: str) -> SpeechHandle | None:
        return None

    def agent(self) -> Agent | None:
        return None

    def history(self) -> ChatContext | None:
        return None

    async def user_turn_completed(
        self, agent: Agent, message: ChatMessage
    ) -> tuple[ChatItem, ...] | None:
        return ()

    def speech_running(self, speech: SpeechHandle | None) -> None:
        pass

    def step_input_taken(self) -> None:
        pass

    def speech_done(self, speech: SpeechHandle) -> Switch | None:
        return None

    def apply_playout(self, mark: PlayoutMark) -> None:
        pass

    def has_audio(self, audio: bool) -> None:
        pass

    def published(self) -> None:
        pass
