"""Agents: :class:`Agent`, the awaitable sub-agent :class:`AgentTask` and :class:`AgentHandoff`."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from voicegraph.graph import ConfigError, UsageError
from voicegraph.nodes.llm import ChatContext, ChatMessage, LLMEngine, ReadOnlyChatContext
from voicegraph.nodes.stt import STTEngine
from voicegraph.nodes.tools import FunctionTool, ToolLike, load_tools, resolve_tools
from voicegraph.nodes.tts import TTSEngine
from voicegraph.nodes.vad import VADEngine

from ._context import current_session
from ._pipeline import PipelineHooks
from ._stages import check_engine_kind

if TYPE_CHECKING:
    from ._ports import AgentHost
    from ._session import AgentSession

__all__ = ["Agent", "AgentHandoff", "AgentTask", "agent_factory"]

T = TypeVar("T")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Agent(PipelineHooks):
    """What the agent is: its instructions, its tools and its hooks.

    Subclass it to add tools as methods (decorated with ``@function_tool``; a parameter
    annotated ``RunContext`` receives the call's context) and to override the hooks::

        class Receptionist(Agent):
            def __init__(self) -> None:
                super().__init__(instructions="You answer the phone for a restaurant.")

            async def on_enter(self) -> None:
                self.session.say("Hello, how can I help?")

            @function_tool
            async def book(self, context: RunContext, time: str) -> str:
                '''Book a table.

                Args:
                    time: When, e.g. "7 pm".
                '''
                return f"Booked for {time}."

    Args:
        instructions: the system prompt while this agent is active.
        tools: more tools (functions, ``FunctionTool`` objects or import paths) besides the
            decorated methods (default none).
        chat_ctx: the conversation this agent starts from when it takes over (default
            ``None``: it continues the session's conversation; pass ``ChatContext()`` for a
            fresh start). LiveKit starts a new agent fresh by default; voicegraph keeps the
            conversation because a spoken handoff usually continues it.
        id: the agent's id in handoff records (default: the class name in snake case).
        allow_interruptions: ``None`` (default) uses the session's setting for this agent's
            replies; ``False`` makes them uninterruptible.
        llm, stt, tts, vad: this agent's own engines (``LLMEngine``, ``STTEngine``,
            ``TTSEngine``, ``VADEngine``), used instead of the session's while it is active
            (default ``None``: the session's). The session's host nodes stay in the graph
            and swap engines (``host.set_engine``) when the agent takes over, and back when
            an agent without its own model does: the LLM from the next generation, STT from
            the next speech segment, TTS from the next reply, the VAD from the next moment
            the user is not speaking. Each engine is entered (``async with``) on first use,
            on the session's clock, and closed with the session.

    Raises:
        ConfigError: an override of the wrong kind (e.g. a TTS engine as ``llm``, or a
            host node instead of an engine).
    """

    def __init__(
        self,
        *,
        instructions: str,
        tools: Sequence[ToolLike] = (),
        chat_ctx: ChatContext | None = None,
        id: str | None = None,
        allow_interruptions: bool | None = None,
        llm: LLMEngine | None = None,
        stt: STTEngine | None = None,
        tts: TTSEngine | None = None,
        vad: VADEngine | None = None,
    ) -> None:
        for keyword, value in (("llm", llm), ("stt", stt), ("tts", tts), ("vad", vad)):
            check_engine_kind(value, type(self).__name__, keyword)
        self.llm, self.stt, self.tts, self.vad = llm, stt, tts, vad
        self._instructions = instructions
        paths, extra = resolve_tools(tools)
        self._tools = {**self._method_tools(), **load_tools(paths, extra)}
        self._chat_ctx = chat_ctx
        self.id = id or _snake(type(self).__name__)
        self.allow_interruptions = allow_interruptions
        self._session: AgentSession[Any] | None = None
        self._host: AgentHost | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"

    def _method_tools(self) -> dict[str, FunctionTool]:
        tools: dict[str, FunctionTool] = {}
        seen: set[str] = set()
        for klass in type(self).__mro__:
            for attr, value in vars(klass).items():
                if attr in seen or not isinstance(value, FunctionTool):
                    continue
                seen.add(attr)
                bound = FunctionTool(
                    value.fn.__get__(self),
                    name=value.name,
                    description=value.description,
                    timeout=value.timeout,
                )
                tools[bound.name] = bound
        return tools

    # ------------------------------------------------------------------ what it is

    @property
    def instructions(self) -> str:
        """The system prompt while this agent is active."""
        return self._instructions

    @property
    def tools(self) -> list[FunctionTool]:
        """The tools offered to the LLM while this agent is active."""
        return list(self._tools.values())

    @property
    def chat_ctx(self) -> ReadOnlyChatContext:
        """A read-only snapshot of the conversation (as LiveKit's): the session's history
        while the agent is active, else the context it will start from. To change it:
        ``ctx = agent.chat_ctx.copy()``, change ``ctx``, ``await agent.update_chat_ctx(ctx)``."""
        if self._session is not None and self._session.current_agent is self:
            return ReadOnlyChatContext.of(self._session.history.items)
        return ReadOnlyChatContext.of(self._chat_ctx.items if self._chat_ctx is not None else ())

    @property
    def initial_chat_ctx(self) -> ChatContext | None:
        """The ``chat_ctx`` the agent was created with (``None``: it continues the session's)."""
        return self._chat_ctx

    def bind(self, session: AgentSession[Any], host: AgentHost) -> None:
        """Run in ``session`` (the session calls this when the agent becomes active)."""
        self._session, self._host = session, host

    @property
    def session(self) -> AgentSession[Any]:
        """The session running this agent.

        Raises:
            UsageError: the agent has not been started in a session.
        """
        if self._session is None:
            raise UsageError(
                f"{self!r} is not running in a session; start it with session.start(agent)"
            )
        return self._session

    # ------------------------------------------------------------------ updates

    async def update_instructions(self, instructions: str) -> None:
        """Change the instructions (from the next reply on, if the agent is active)."""
        self._instructions = instructions
        if self._host is not None:
            self._host.refresh(self)

    async def update_chat_ctx(
        self, chat_ctx: ChatContext, *, exclude_invalid_function_calls: bool = True
    ) -> None:
        """Replace the conversation with ``chat_ctx``'s items (LiveKit's ``update_chat_ctx``).

        While the agent is active, the session's history becomes a copy of ``chat_ctx`` (its
        instructions stay the agent's; the items are not reported as ``conversation_item_added``);
        otherwise the agent will start from it when it takes over. With
        ``exclude_invalid_function_calls`` (default), function calls and outputs of tools
        the agent does not have are left out.

        Raises:
            UsageError: ``chat_ctx`` is not a :class:`ChatContext`.
        """
        if not isinstance(chat_ctx, ChatContext):
            raise UsageError(
                f"update_chat_ctx() takes a ChatContext, got {type(chat_ctx).__name__}; "
                "start from agent.chat_ctx.copy()"
            )
        chat = chat_ctx.copy(tools=self.tools if exclude_invalid_function_calls else None)
        if self._host is not None and self._host.replace_history(self, chat):
            return
        self._chat_ctx = chat

    async def update_tools(self, tools: Sequence[ToolLike]) -> None:
        """Replace the tools (from the next reply on, if the agent is active)."""
        paths, extra = resolve_tools(tools)
        self._tools = load_tools(paths, extra)
        if self._host is not None:
            self._host.refresh(self)

    # ------------------------------------------------------------------ hooks

    async def on_enter(self) -> None:
        """Called when the agent becomes active (e.g. greet with ``self.session.say``)."""

    async def on_exit(self) -> None:
        """Called when the agent hands over to another one (or its task completes)."""

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        """Called with the user's message before the reply to it is generated.

        Change ``new_message.text`` to change what the LLM sees; raise
        :class:`~voicegraph.nodes.tools.StopResponse` to record it without replying.
        ``turn_ctx`` is a copy of the conversation before the message.
        """


class AgentTask(Agent, Generic[T]):
    """An agent that runs until it has a result, then gives control back to its caller.

    Await it inside a tool or an agent's ``on_enter``/``on_exit``: the session switches to
    the task (its ``on_enter`` runs), the user talks with it, and when it calls
    :meth:`complete` the session switches back and ``await`` returns the result (or raises
    the exception passed to ``complete``)::

        class GetEmail(AgentTask[str]):
            def __init__(self) -> None:
                super().__init__(instructions="Ask for the user's email address.")

            async def on_enter(self) -> None:
                self.session.generate_reply(instructions="Ask for the email address.")

            @function_tool
            async def record_email(self, email: str) -> None:
                '''Record the email address.'''
                self.complete(email)

        email = await GetEmail()      # inside a tool of another agent

    The task's conversation starts from the caller's (unless ``chat_ctx`` is given); when it
    completes, the messages it added (and its handoff records) are appended to the caller's
    conversation, after the caller's function call that awaited it; the task's own function
    calls and outputs only with ``preserve_function_call_history=True`` (LiveKit's option
    and default). Tool calls that complete the task get no follow-up reply from the task. A
    task runs once.

    Args:
        preserve_function_call_history: keep the task's function calls and their outputs in
            the caller's conversation when it completes (default ``False``, as in LiveKit).
        **kwargs: as for :class:`Agent`.
    """

    def __init__(self, *, preserve_function_call_history: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.preserve_function_call_history = preserve_function_call_history
        self._result: T | None = None
        self._error: BaseException | None = None
        self._completed = False
        self._awaited = False

    def done(self) -> bool:
        """Whether :meth:`complete` was called."""
        return self._completed

    def complete(self, result: T | BaseException) -> None:
        """Finish the task with ``result`` (or make ``await`` raise the exception given).

        Control returns to the caller once the task's current reply has finished.

        Raises:
            UsageError: the task was already completed.
        """
        if self._completed:
            raise UsageError(f"{self!r} was already completed; complete() is called once per task")
        self._completed = True
        if isinstance(result, BaseException):
            self._error = result
        else:
            self._result = result
        if self._host is not None:
            self._host.task_completed(self)

    def result(self) -> T:
        """The result (raises the exception the task completed with).

        Raises:
            UsageError: the task has not completed.
        """
        if not self._completed:
            raise UsageError(
                f"{self!r} has not completed; await the task (or call complete()) first"
            )
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    def __await__(self) -> Generator[Any, None, T]:
        session = current_session()
        if session is None:
            raise UsageError(
                "an AgentTask can only be awaited inside a tool or an agent's on_enter/on_exit "
                "while a session runs"
            )
        if self._awaited:
            raise UsageError(f"{self!r} was already awaited; create a new task to run it again")
        host = session.current_agent._host
        if host is None:  # pragma: no cover - the active agent is always bound
            raise UsageError(f"{self!r}: the session has no active agent")
        self._awaited = True
        return host.run_task(self).__await__()


@dataclass
class AgentHandoff:
    """What a tool returns to switch the session to another agent.

    Returning an :class:`Agent` is the same as ``AgentHandoff(agent)``; a tuple
    ``(agent, output)`` is ``AgentHandoff(agent, output=output)``.

    Attributes:
        agent: the agent that takes over once the current reply has finished.
        output: the tool's result as the LLM's history records it (default ``None``: ``""``).
        keep_history: carry the conversation over (default ``True``); ``False`` starts the
            new agent from its own ``chat_ctx`` (or an empty one). An agent created with a
            ``chat_ctx`` always starts from that.
    """

    agent: Agent
    output: Any = None
    keep_history: bool = True

    @classmethod
    def from_tool_output(cls, value: Any) -> AgentHandoff | None:
        """The handoff a tool's return value asks for, or ``None``.

        Raises:
            ValueError: a tuple names more than one agent.
        """
        if isinstance(value, AgentHandoff):
            return value
        if isinstance(value, Agent):
            return cls(value)
        if isinstance(value, tuple):
            agents = [v for v in value if isinstance(v, Agent)]
            if len(agents) > 1:
                raise ConfigError(
                    "a tool returned more than one agent; return one Agent to hand off to, "
                    "and hand off again from that agent if needed"
                )
            if agents:
                rest = [v for v in value if not isinstance(v, Agent)]
                return cls(agents[0], output=rest[0] if len(rest) == 1 else (rest or None))
        return None


def agent_factory(obj: object, target: str, each: str) -> Callable[[], Agent] | None:
    """``obj``, what ``target`` (a ``module:attribute``) names, as a maker of new agents: an
    ``Agent`` subclass or a plain function returning one, returned as it is (so it stays
    picklable); ``None`` if it is neither. ``each`` names what gets its own agent (e.g.
    "browser tab"), for the error.

    Raises:
        ConfigError: ``obj`` is an ``Agent`` instance, which cannot serve more than one
            session.
    """
    if isinstance(obj, Agent):
        raise ConfigError(
            f"{target!r} is an Agent instance, but each {each} is its own session with its "
            "own agent: name the Agent class, or a function returning a new Agent"
        )
    if isinstance(obj, type) and issubclass(obj, Agent):
        return obj
    if callable(obj) and not inspect.iscoroutinefunction(obj):
        return obj
    return None
