""":class:`RunContext`, what a tool sees of the session, and the session of the running code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from typing_extensions import TypeVar

from voicegraph.graph import Deadline, ToolCall
from voicegraph.nodes.tts import clean_text

if TYPE_CHECKING:
    from ._agent import Agent
    from ._ports import ReplyHost
    from ._session import AgentSession
    from ._speech import SpeechHandle

__all__ = ["RunContext", "current_run_context", "current_session"]

Userdata_T = TypeVar("Userdata_T", default=Any)

_session: ContextVar[AgentSession[Any] | None] = ContextVar("voicegraph_session", default=None)
_run_context: ContextVar[RunContext[Any] | None] = ContextVar("voicegraph_run", default=None)


def current_session() -> AgentSession[Any] | None:
    """The session whose tool or hook is running in this task, if any."""
    return _session.get()


def current_run_context() -> RunContext[Any] | None:
    """The :class:`RunContext` of the tool call running in this task, if any."""
    return _run_context.get()


@contextmanager
def session_scope(
    session: AgentSession[Any], context: RunContext[Any] | None = None
) -> Iterator[None]:
    """Mark the code in the block as running for ``session`` (and a tool call)."""
    token = _session.set(session)
    run_token = _run_context.set(context)
    try:
        yield
    finally:
        _run_context.reset(run_token)
        _session.reset(token)


class RunContext(Generic[Userdata_T]):
    """What a tool call sees of the session: annotate a tool parameter with it to receive it.

    ::

        @function_tool
        async def remember(context: RunContext[MyData], name: str) -> str:
            '''Remember the user's name.'''
            context.userdata.name = name
            return "ok"

    The parameter is not part of the tool's schema (the LLM never sees it).

    Attributes:
        session: the :class:`AgentSession`.
        speech_handle: the reply whose tool round this call belongs to (``None`` if the
            call did not come from a scheduled reply).
        function_call: the call (name, arguments, call id).
        agent: the agent that was active when the call started.
    """

    __tool_context__: ClassVar[bool] = True

    def __init__(
        self,
        session: AgentSession[Userdata_T],
        speech_handle: SpeechHandle | None,
        function_call: ToolCall,
        agent: Agent,
        host: ReplyHost | None = None,
    ) -> None:
        self.session = session
        self._host = host
        self.speech_handle = speech_handle
        self.function_call = function_call
        self.agent = agent
        self.tasks_running = 0
        """How many ``AgentTask`` this call is awaiting (its timeout does not run meanwhile)."""
        self._limit: Deadline | None = None

    @property
    def userdata(self) -> Userdata_T:
        """The session's ``userdata`` (raises if the session has none)."""
        return self.session.userdata

    def limit_time(self, countdown: Deadline) -> None:
        """The tool executor's time limit for this call (paused by :meth:`awaiting_task`)."""
        self._limit = countdown

    @contextmanager
    def timeout_paused(self) -> Iterator[None]:
        """The call waits for something that is not its own work inside the block (speech
        it scheduled playing): its timeout does not run."""
        with self._limit.paused() if self._limit is not None else nullcontext():
            yield

    @contextmanager
    def awaiting_task(self) -> Iterator[None]:
        """The call awaits an ``AgentTask`` inside the block: its timeout does not run."""
        self.tasks_running += 1
        try:
            with self._limit.paused() if self._limit is not None else nullcontext():
                yield
        finally:
            self.tasks_running -= 1

    async def wait_for_playout(self) -> None:
        """Wait until what the agent said before this tool call has been heard.

        For a tool that should act only once its announcement has played (LiveKit's
        method), e.g. say "Let me transfer you", then hang up::

            @function_tool
            async def transfer(context: RunContext) -> None:
                await context.wait_for_playout()
                ...

        Returns at once in a session without audio or for a call outside a reply, and as
        soon as the reply is interrupted. Playout is followed word by word: the words of the
        reply's text so far (as the sentence splitter cleans it for speech) against the
        words the audio output reports heard. The wait counts toward the tool's timeout.
        """
        speech = self.speech_handle
        if speech is None or self._host is None or not self._host.audio:
            return
        said = clean_text(self.session.llm.reply_text(speech.epoch))
        await speech.wait_heard(len(said.split()))

    def disallow_interruptions(self) -> None:
        """Make the current reply uninterruptible from here on (LiveKit's method)."""
        if self.speech_handle is not None:
            self.speech_handle.allow_interruptions = False
            if self._host is not None:
                self._host.update_interruptions()
