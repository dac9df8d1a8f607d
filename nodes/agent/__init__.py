"""The agent layer: agents, sessions, tools, handoffs, tasks and test helpers, LiveKit-style.

* :class:`Agent` (instructions, tools, hooks), :class:`AgentTask` (an awaitable sub-agent
  with a typed result), :class:`AgentHandoff`, :class:`RunContext` for tools.
* :class:`AgentSession` runs agents on the standard voice graph (or on text turns):
  ``start``, ``say``, ``generate_reply``, ``interrupt``, ``update_agent``, ``run``,
  ``history``, ``userdata``, events (``session.on("agent_state_changed", ...)``) and
  LiveKit's turn-taking options (:class:`SessionOptions`; LiveKit 1.8's grouped
  ``turn_handling=`` :class:`TurnHandlingOptions` too). Its models are engines
  (``AgentSession(llm=ScriptedLLM(...), stt=WhisperSTT())``), as LiveKit's are plugins: the
  session builds the host node of each stage around them; an agent's own engines
  (``Agent(llm=...)``) are swapped into those hosts while it is active.
* :class:`RunResult`, what ``session.run()`` returns; its expectations (``result.expect``),
  :func:`mock_tools` (LiveKit's: replace an agent class's tools within a ``with`` block) and
  the other test helpers are in :mod:`voicegraph.testing`.
* :class:`BackgroundAudioPlayer` (LiveKit's): ambient and "thinking" sounds mixed into the
  agent's audio by the session's ``BackgroundAudio`` node.
* The standard voice graph (:func:`voice_pipeline`), :class:`ConversationLog` and per-turn
  metrics, used by ``voicegraph run``.

See ``docs/agents.md`` for the guide, the options with their defaults and the scenario table.
"""

from voicegraph.graph import rehome

from ._agent import Agent as Agent
from ._agent import AgentHandoff as AgentHandoff
from ._agent import AgentTask as AgentTask
from ._agent import agent_factory as agent_factory
from ._background import BackgroundAudioPlayer as BackgroundAudioPlayer
from ._bus import SessionBusEvent as SessionBusEvent
from ._commands import SessionCommands as SessionCommands
from ._context import RunContext as RunContext
from ._controller import AgentController as AgentController
from ._conversation import ConversationLog as ConversationLog
from ._conversation import Utterance as Utterance
from ._end_call import EndCallTool as EndCallTool
from ._events import AgentFalseInterruptionEvent as AgentFalseInterruptionEvent
from ._events import AgentState as AgentState
from ._events import AgentStateChangedEvent as AgentStateChangedEvent
from ._events import CloseEvent as CloseEvent
from ._events import ConversationItemAddedEvent as ConversationItemAddedEvent
from ._events import ErrorEvent as ErrorEvent
from ._events import FunctionToolsExecutedEvent as FunctionToolsExecutedEvent
from ._events import MetricsCollectedEvent as MetricsCollectedEvent
from ._events import SessionEvent as SessionEvent
from ._events import SpeechCreatedEvent as SpeechCreatedEvent
from ._events import TTSMetrics as TTSMetrics
from ._events import UserInputTranscribedEvent as UserInputTranscribedEvent
from ._events import UserState as UserState
from ._events import UserStateChangedEvent as UserStateChangedEvent
from ._events import UserTranscriptionTimeoutEvent as UserTranscriptionTimeoutEvent
from ._events import UserTurnExceededEvent as UserTurnExceededEvent
from ._executor import AgentToolExecutor as AgentToolExecutor
from ._latency import audible_windows as audible_windows
from ._metrics import TurnMetrics as TurnMetrics
from ._metrics import TurnReply as TurnReply
from ._metrics import format_turn_metrics as format_turn_metrics
from ._metrics import match_replies as match_replies
from ._metrics import turn_metrics as turn_metrics
from ._mock import mock_tools as mock_tools
from ._options import SessionOptions as SessionOptions
from ._options import UserTurnLimit as UserTurnLimit
from ._pipeline import ModelSettings as ModelSettings
from ._session import AgentSession as AgentSession
from ._speech import SpeechHandle as SpeechHandle
from ._testing import JUDGE_INSTRUCTIONS as JUDGE_INSTRUCTIONS
from ._testing import AgentHandoffEvent as AgentHandoffEvent
from ._testing import ChatMessageEvent as ChatMessageEvent
from ._testing import EventAssert as EventAssert
from ._testing import FunctionCallEvent as FunctionCallEvent
from ._testing import FunctionCallOutputEvent as FunctionCallOutputEvent
from ._testing import RunAssert as RunAssert
from ._testing import RunEvent as RunEvent
from ._testing import RunResult as RunResult
from ._turn_handling import EndpointingOptions as EndpointingOptions
from ._turn_handling import InterruptionOptions as InterruptionOptions
from ._turn_handling import PreemptiveGenerationOptions as PreemptiveGenerationOptions
from ._turn_handling import TurnHandlingOptions as TurnHandlingOptions
from ._turn_handling import UserTurnLimitOptions as UserTurnLimitOptions
from ._voice import MIC_CAPACITY as MIC_CAPACITY
from ._voice import VoicePipeline as VoicePipeline
from ._voice import voice_pipeline as voice_pipeline

__all__ = [
    "Agent",
    "AgentController",
    "AgentFalseInterruptionEvent",
    "AgentHandoff",
    "AgentSession",
    "AgentState",
    "AgentStateChangedEvent",
    "AgentTask",
    "AgentToolExecutor",
    "BackgroundAudioPlayer",
    "CloseEvent",
    "ConversationItemAddedEvent",
    "ConversationLog",
    "EndCallTool",
    "EndpointingOptions",
    "ErrorEvent",
    "FunctionToolsExecutedEvent",
    "InterruptionOptions",
    "MetricsCollectedEvent",
    "ModelSettings",
    "PreemptiveGenerationOptions",
    "RunContext",
    "RunResult",
    "SessionBusEvent",
    "SessionCommands",
    "SessionEvent",
    "SessionOptions",
    "SpeechCreatedEvent",
    "SpeechHandle",
    "TTSMetrics",
    "TurnHandlingOptions",
    "TurnMetrics",
    "TurnReply",
    "UserInputTranscribedEvent",
    "UserState",
    "UserStateChangedEvent",
    "UserTranscriptionTimeoutEvent",
    "UserTurnExceededEvent",
    "UserTurnLimit",
    "UserTurnLimitOptions",
    "VoicePipeline",
    "agent_factory",
    "audible_windows",
    "format_turn_metrics",
    "match_replies",
    "turn_metrics",
    "voice_pipeline",
]

rehome(__name__, globals(), __all__)
# the run expectations and mock_tools are test helpers: their public home is voicegraph.testing
rehome(
    "voicegraph.testing",
    globals(),
    [
        "AgentHandoffEvent",
        "ChatMessageEvent",
        "EventAssert",
        "FunctionCallEvent",
        "FunctionCallOutputEvent",
        "RunAssert",
        "mock_tools",
    ],
)
