"""``livekit.agents``' names, for porting a LiveKit agent by changing its imports.

::

    from voicegraph.agents import Agent, AgentSession, JobContext, RunContext, cli, function_tool
    from voicegraph.agents.llm import ChatContext

Every name here is voicegraph's own object (``voicegraph.agents.Agent is
voicegraph.nodes.agent.Agent``); the graph-native API (``voicegraph``, ``voicegraph.nodes``)
stays the primary one, this namespace is the door in. Submodules: :mod:`~voicegraph.agents.llm`,
:mod:`~voicegraph.agents.stt`, :mod:`~voicegraph.agents.tts`, :mod:`~voicegraph.agents.vad`
(the engine base classes under LiveKit's names), :mod:`~voicegraph.agents.metrics`,
:mod:`~voicegraph.agents.cli`. ``import voicegraph`` does not load this namespace.

Where a name means something else in voicegraph, this namespace follows LiveKit:
``AgentHandoff`` is the handoff record in a chat context (voicegraph's ``AgentHandoffItem``;
voicegraph's own ``AgentHandoff``, a tool's return value, stays in ``voicegraph.nodes.agent``).

``livekit.agents`` names (1.8) not provided, and why:

* none in voicegraph yet: ``SessionUsageUpdatedEvent``, ``CloseReason``, ``AgentEvent``.
* LiveKit Cloud / Inference services or features voicegraph has no model for: ``inference``,
  ``AMD``, ``AMDCategory``, ``AMDPredictionEvent`` (answering-machine detection),
  ``ExpressiveOptions``, ``NonverbalOptions``, ``SpeechSteeringOptions``,
  ``KeytermDetectionOptions``, ``KeytermsOptions``, ``STTContextOptions`` (``AgentSession``
  accepts the keywords; see ``voicegraph.nodes.agent.TurnHandlingOptions``' module),
  ``Scenario``, ``ScenarioGroup``, ``ScenarioUserdata``, ``SimulationContext``,
  ``SimulationDispatch``, ``SimulationRun``, ``SimulationVerdict``, ``avatar``.
* asynchronous tools and their events: ``ToolExecutionUpdatedEvent``, ``ToolCallStarted``,
  ``ToolCallUpdated``, ``ToolCallEnded``, ``ToolReplyUpdated``, ``ToolContext``,
  ``ProviderTool``, ``ToolResult`` (voicegraph's ``ToolResult`` is a graph frame),
  ``AgentConfigUpdate``.
* room I/O is a graph of nodes (``voicegraph.nodes.livekit``), not options objects:
  ``RoomIO``, ``RoomInputOptions``, ``RoomOutputOptions``, ``RunOutputOptions``,
  ``RecordingOptions``, ``room_io``, ``io``, ``AudioRecognition``, ``voice``,
  ``text_transforms`` (``tts_text_transforms=`` takes the built-in names).
* the worker's options differ (``AgentServer(entrypoint, options=ServerOptions(...))``):
  ``WorkerOptions``, ``WorkerPermissions``, ``WorkerType``, ``JobExecutorType``,
  ``AssignmentTimeoutError``, ``AutoSubscribe`` (``JobContext.connect(auto_subscribe=)``
  takes a bool), ``ipc``.
* provider errors are ``voicegraph.ProviderError`` / ``ProviderTimeoutError``:
  ``APIError``, ``APIConnectionError``, ``APIStatusError``, ``APITimeoutError``,
  ``create_api_error_from_http``, ``APIConnectOptions``, ``DEFAULT_API_CONNECT_OPTIONS``.
* LiveKit's helper types and utilities: ``NOT_GIVEN``, ``NotGiven``, ``NotGivenOr`` (voicegraph
  uses ``None``), ``LanguageCode``, ``FlushSentinel``, ``UnexpectedModelBehavior``,
  ``EventRangeAssert``, ``Plugin``, ``tokenize``, ``utils``, ``__version__``.
"""

from voicegraph.nodes.agent import Agent as Agent
from voicegraph.nodes.agent import AgentFalseInterruptionEvent as AgentFalseInterruptionEvent
from voicegraph.nodes.agent import AgentSession as AgentSession
from voicegraph.nodes.agent import AgentStateChangedEvent as AgentStateChangedEvent
from voicegraph.nodes.agent import AgentTask as AgentTask
from voicegraph.nodes.agent import BackgroundAudioPlayer as BackgroundAudioPlayer
from voicegraph.nodes.agent import CloseEvent as CloseEvent
from voicegraph.nodes.agent import ConversationItemAddedEvent as ConversationItemAddedEvent
from voicegraph.nodes.agent import EndpointingOptions as EndpointingOptions
from voicegraph.nodes.agent import ErrorEvent as ErrorEvent
from voicegraph.nodes.agent import FunctionToolsExecutedEvent as FunctionToolsExecutedEvent
from voicegraph.nodes.agent import InterruptionOptions as InterruptionOptions
from voicegraph.nodes.agent import MetricsCollectedEvent as MetricsCollectedEvent
from voicegraph.nodes.agent import ModelSettings as ModelSettings
from voicegraph.nodes.agent import PreemptiveGenerationOptions as PreemptiveGenerationOptions
from voicegraph.nodes.agent import RunContext as RunContext
from voicegraph.nodes.agent import RunResult as RunResult
from voicegraph.nodes.agent import SpeechCreatedEvent as SpeechCreatedEvent
from voicegraph.nodes.agent import TurnHandlingOptions as TurnHandlingOptions
from voicegraph.nodes.agent import UserInputTranscribedEvent as UserInputTranscribedEvent
from voicegraph.nodes.agent import UserStateChangedEvent as UserStateChangedEvent
from voicegraph.nodes.agent import UserTranscriptionTimeoutEvent as UserTranscriptionTimeoutEvent
from voicegraph.nodes.agent import UserTurnExceededEvent as UserTurnExceededEvent
from voicegraph.nodes.agent import UserTurnLimitOptions as UserTurnLimitOptions
from voicegraph.nodes.output import AudioConfig as AudioConfig
from voicegraph.nodes.output import BuiltinAudioClip as BuiltinAudioClip
from voicegraph.nodes.output import PlayHandle as PlayHandle
from voicegraph.runner.worker import AgentServer as AgentServer
from voicegraph.runner.worker import JobContext as JobContext
from voicegraph.runner.worker import JobProcess as JobProcess
from voicegraph.runner.worker import JobRequest as JobRequest
from voicegraph.runner.worker import get_job_context as get_job_context
from voicegraph.testing import AgentHandoffEvent as AgentHandoffEvent
from voicegraph.testing import ChatMessageEvent as ChatMessageEvent
from voicegraph.testing import EventAssert as EventAssert
from voicegraph.testing import FunctionCallEvent as FunctionCallEvent
from voicegraph.testing import FunctionCallOutputEvent as FunctionCallOutputEvent
from voicegraph.testing import RunAssert as RunAssert
from voicegraph.testing import RunEvent as RunEvent
from voicegraph.testing import mock_tools as mock_tools

from . import cli as cli
from . import llm as llm
from . import metrics as metrics
from . import stt as stt
from . import tts as tts
from . import vad as vad
from .llm import AgentHandoff as AgentHandoff
from .llm import ChatContent as ChatContent
from .llm import ChatContext as ChatContext
from .llm import ChatItem as ChatItem
from .llm import ChatMessage as ChatMessage
from .llm import ChatRole as ChatRole
from .llm import FunctionCall as FunctionCall
from .llm import FunctionCallOutput as FunctionCallOutput
from .llm import FunctionTool as FunctionTool
from .llm import StopResponse as StopResponse
from .llm import ToolError as ToolError
from .llm import function_tool as function_tool

__all__ = [
    "Agent",
    "AgentFalseInterruptionEvent",
    "AgentHandoff",
    "AgentHandoffEvent",
    "AgentServer",
    "AgentSession",
    "AgentStateChangedEvent",
    "AgentTask",
    "AudioConfig",
    "BackgroundAudioPlayer",
    "BuiltinAudioClip",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatMessageEvent",
    "ChatRole",
    "CloseEvent",
    "ConversationItemAddedEvent",
    "EndpointingOptions",
    "ErrorEvent",
    "EventAssert",
    "FunctionCall",
    "FunctionCallEvent",
    "FunctionCallOutput",
    "FunctionCallOutputEvent",
    "FunctionTool",
    "FunctionToolsExecutedEvent",
    "InterruptionOptions",
    "JobContext",
    "JobProcess",
    "JobRequest",
    "MetricsCollectedEvent",
    "ModelSettings",
    "PlayHandle",
    "PreemptiveGenerationOptions",
    "RunAssert",
    "RunContext",
    "RunEvent",
    "RunResult",
    "SpeechCreatedEvent",
    "StopResponse",
    "ToolError",
    "TurnHandlingOptions",
    "UserInputTranscribedEvent",
    "UserStateChangedEvent",
    "UserTranscriptionTimeoutEvent",
    "UserTurnExceededEvent",
    "UserTurnLimitOptions",
    "cli",
    "function_tool",
    "get_job_context",
    "llm",
    "metrics",
    "mock_tools",
    "stt",
    "tts",
    "vad",
]
