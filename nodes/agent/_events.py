"""Session events, with LiveKit's names, and the emitter that delivers them.

Every event has a ``type`` (the name you subscribe to with ``session.on(type, callback)``)
and ``created_at``, the session clock's time (virtual seconds under ``VirtualClock``, so
timelines in tests are exact). ``session.events`` keeps them all, in order.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, TypeVar, overload

from voicegraph.nodes.llm import AgentHandoffItem, ChatMessage, FunctionCall, FunctionCallOutput

if TYPE_CHECKING:
    from ._speech import SpeechHandle

from ._lk_metrics import TTSMetrics

__all__ = [
    "AgentFalseInterruptionEvent",
    "AgentState",
    "AgentStateChangedEvent",
    "CloseEvent",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "EventEmitter",
    "FunctionToolsExecutedEvent",
    "MetricsCollectedEvent",
    "SessionEvent",
    "SpeechCreatedEvent",
    "TTSMetrics",
    "UserInputTranscribedEvent",
    "UserState",
    "UserStateChangedEvent",
    "UserTranscriptionTimeoutEvent",
    "UserTurnExceededEvent",
]

log = logging.getLogger(__name__)

AgentState: TypeAlias = Literal["initializing", "listening", "thinking", "speaking"]
"""What the agent is doing (LiveKit's ``AgentState`` without ``idle``)."""
UserState: TypeAlias = Literal["listening", "speaking", "away"]
"""What the user is doing, as the session sees it."""


@dataclass(frozen=True, kw_only=True)
class SessionEvent:
    """Base of session events.

    Attributes:
        created_at: session clock time of the event, in seconds.
    """

    type: ClassVar[str] = ""
    created_at: float = 0.0


@dataclass(frozen=True, kw_only=True)
class UserInputTranscribedEvent(SessionEvent):
    """The STT transcribed some of the user's speech.

    Attributes:
        transcript: the text.
        is_final: always ``True`` for the embedded STT (it emits final transcripts only).
        language: the transcript's language code.
    """

    type: ClassVar[str] = "user_input_transcribed"
    transcript: str
    is_final: bool = True
    language: str = "en"


@dataclass(frozen=True, kw_only=True)
class UserStateChangedEvent(SessionEvent):
    """The user started or stopped speaking, or went away (``user_away_timeout``)."""

    type: ClassVar[str] = "user_state_changed"
    old_state: UserState
    new_state: UserState


@dataclass(frozen=True, kw_only=True)
class AgentStateChangedEvent(SessionEvent):
    """The agent moved between listening, thinking and speaking."""

    type: ClassVar[str] = "agent_state_changed"
    old_state: AgentState
    new_state: AgentState


@dataclass(frozen=True, kw_only=True)
class SpeechCreatedEvent(SessionEvent):
    """A reply was scheduled.

    Attributes:
        user_initiated: ``True`` for ``say()`` / ``generate_reply()`` / ``run()``,
            ``False`` for the automatic reply to a user turn.
        source: ``"say"`` or ``"generate_reply"``.
        speech_handle: the reply's handle.
    """

    type: ClassVar[str] = "speech_created"
    user_initiated: bool
    source: Literal["say", "generate_reply"]
    speech_handle: SpeechHandle


@dataclass(frozen=True, kw_only=True)
class FunctionToolsExecutedEvent(SessionEvent):
    """A round of tool calls finished and the LLM took up their results.

    Attributes:
        function_calls: the calls of the round, in order.
        function_call_outputs: their outputs, in the same order.
    """

    type: ClassVar[str] = "function_tools_executed"
    function_calls: list[FunctionCall] = field(default_factory=list)
    function_call_outputs: list[FunctionCallOutput] = field(default_factory=list)

    def zipped(self) -> list[tuple[FunctionCall, FunctionCallOutput]]:
        """``(call, output)`` pairs."""
        return list(zip(self.function_calls, self.function_call_outputs, strict=False))


@dataclass(frozen=True, kw_only=True)
class ConversationItemAddedEvent(SessionEvent):
    """A message (or a handoff record) was committed to the history.

    Assistant messages are committed when their speech is done, with the text the user
    actually heard (``interrupted=True`` if cut off).
    """

    type: ClassVar[str] = "conversation_item_added"
    item: ChatMessage | AgentHandoffItem


@dataclass(frozen=True, kw_only=True)
class MetricsCollectedEvent(SessionEvent):
    """A stage reported metrics, as LiveKit's classes (see :mod:`voicegraph.nodes.agent.metrics`):
    ``LLMMetrics``, ``STTMetrics``, ``TTSMetrics``, ``EOUMetrics`` (end of utterance)."""

    type: ClassVar[str] = "metrics_collected"
    metrics: Any


@dataclass(frozen=True, kw_only=True)
class AgentFalseInterruptionEvent(SessionEvent):
    """The user's speech paused the agent but turned out not to be a turn (no words within
    ``false_interruption_timeout``); ``resumed`` says whether the speech went on."""

    type: ClassVar[str] = "agent_false_interruption"
    resumed: bool = True


@dataclass(frozen=True, kw_only=True)
class UserTurnExceededEvent(SessionEvent):
    """The user's turn went past ``user_turn_limit`` (once per turn): ``words`` transcribed
    so far, ``duration`` seconds since the turn's speech started, ``transcript`` so far."""

    type: ClassVar[str] = "user_turn_exceeded"
    transcript: str
    words: int
    duration: float


@dataclass(frozen=True, kw_only=True)
class UserTranscriptionTimeoutEvent(SessionEvent):
    """The user stopped speaking and no transcript came within ``transcription_timeout``
    seconds (the STT is slow, failing, or heard no words)."""

    type: ClassVar[str] = "user_transcription_timeout"
    timeout: float


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(SessionEvent):
    """Something failed. ``source`` names the node or hook."""

    type: ClassVar[str] = "error"
    error: BaseException
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class CloseEvent(SessionEvent):
    """The session ended: ``reason`` is ``"input_ended"``, ``"closed"`` or ``"error"``."""

    type: ClassVar[str] = "close"
    reason: str
    error: BaseException | None = None


Callback: TypeAlias = Callable[[Any], "Awaitable[None] | None"]
C = TypeVar("C", bound=Callback)


class EventEmitter:
    """``on(type, callback)`` / ``off`` and an ordered log of every event (``events``).

    Callbacks run synchronously when the event happens; a callback that returns an awaitable
    (an ``async def``) is run as a task of the session. A callback that raises is logged
    and does not stop the session.
    """

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        """Every event so far, in order."""
        self._callbacks: dict[str, list[Callback]] = {}

    @overload
    def on(self, event: str) -> Callable[[C], C]: ...
    @overload
    def on(self, event: str, callback: C) -> C: ...
    def on(self, event: str, callback: C | None = None) -> C | Callable[[C], C]:
        """Call ``callback(event)`` for every event of type ``event`` (also a decorator)."""

        def register(cb: C) -> C:
            self._callbacks.setdefault(event, []).append(cb)
            return cb

        return register(callback) if callback is not None else register

    def off(self, event: str, callback: Callback) -> None:
        """Stop calling ``callback`` for ``event`` (no error if it was not registered)."""
        callbacks = self._callbacks.get(event, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def emit(self, event: SessionEvent) -> None:
        """Log ``event`` and call its callbacks."""
        self.events.append(event)
        for callback in list(self._callbacks.get(event.type, [])):
            try:
                result = callback(event)
            except Exception:
                log.exception("a %r callback raised", event.type)
                continue
            if inspect.isawaitable(result):
                self._spawn_callback(result, event.type)

    def _spawn_callback(self, awaitable: Awaitable[None], name: str) -> None:
        """Run an async callback's awaitable (the session runs it as a task)."""
        raise NotImplementedError
