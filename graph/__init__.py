"""What a pipeline *is*: frames, typed ports, the Node base, the Graph builder, serialization.

``__all__`` is what users build with. The other names imported below are for voicegraph's
other packages (the runner, the nodes), which may not import a private module of this one.
"""

from ._bus_events import UNPUBLISHED as UNPUBLISHED
from ._bus_events import BusEvent as BusEvent
from ._clock import Clock as Clock
from ._clock import Deadline as Deadline
from ._clock import RealClock as RealClock
from ._clock import deadline as deadline
from ._display import SvgRenderer as SvgRenderer
from ._display import set_svg_renderer as set_svg_renderer
from ._engine import Engine as Engine
from ._errors import ConfigError as ConfigError
from ._errors import DeadlineError as DeadlineError
from ._errors import DeadlockError as DeadlockError
from ._errors import FrameTypeError as FrameTypeError
from ._errors import GraphError as GraphError
from ._errors import InputError as InputError
from ._errors import MissingDependencyError as MissingDependencyError
from ._errors import NodeError as NodeError
from ._errors import ProviderError as ProviderError
from ._errors import ProviderTimeoutError as ProviderTimeoutError
from ._errors import RunnerError as RunnerError
from ._errors import UsageError as UsageError
from ._errors import VoicegraphError as VoicegraphError
from ._errors import first_error as first_error
from ._errors import leaf_exceptions as leaf_exceptions
from ._frames import UNSTAMPED as UNSTAMPED
from ._frames import AudioFrame as AudioFrame
from ._frames import Control as Control
from ._frames import EndOfStream as EndOfStream
from ._frames import Event as Event
from ._frames import Flush as Flush
from ._frames import Frame as Frame
from ._frames import Interrupt as Interrupt
from ._frames import LLMText as LLMText
from ._frames import NodeFailed as NodeFailed
from ._frames import PlayoutMark as PlayoutMark
from ._frames import Sentence as Sentence
from ._frames import SpeechAudio as SpeechAudio
from ._frames import SpeechSegment as SpeechSegment
from ._frames import SpeechStarted as SpeechStarted
from ._frames import SpeechStopped as SpeechStopped
from ._frames import TextFrame as TextFrame
from ._frames import ToolCall as ToolCall
from ._frames import ToolResult as ToolResult
from ._frames import Transcript as Transcript
from ._frames import UserTurn as UserTurn
from ._graph import DEFAULT_CAPACITY as DEFAULT_CAPACITY
from ._graph import Edge as Edge
from ._graph import FlatGraph as FlatGraph
from ._graph import Graph as Graph
from ._graph import Policy as Policy
from ._graph import Supervision as Supervision
from ._node import Node as Node
from ._node import NodeConfig as NodeConfig
from ._node import NodeRuntime as NodeRuntime
from ._node import attach_runtime as attach_runtime
from ._node import runtime_of as runtime_of
from ._ports import In as In
from ._ports import Out as Out
from ._ports import Port as Port
from ._public import lazy_exports as lazy_exports
from ._public import rehome as rehome
from ._redact import clip_text as clip_text
from ._redact import redact_secrets as redact_secrets
from ._serialize import graph_from_dict as graph_from_dict
from ._serialize import graph_to_dict as graph_to_dict
from ._untrusted import check_file_import as check_file_import

__all__ = [
    "AudioFrame",
    "BusEvent",
    "Clock",
    "ConfigError",
    "Control",
    "Deadline",
    "DeadlineError",
    "DeadlockError",
    "Edge",
    "EndOfStream",
    "Engine",
    "Event",
    "Flush",
    "Frame",
    "FrameTypeError",
    "Graph",
    "GraphError",
    "In",
    "InputError",
    "Interrupt",
    "LLMText",
    "MissingDependencyError",
    "Node",
    "NodeConfig",
    "NodeError",
    "NodeFailed",
    "Out",
    "PlayoutMark",
    "Policy",
    "Port",
    "ProviderError",
    "ProviderTimeoutError",
    "RealClock",
    "RunnerError",
    "Sentence",
    "SpeechAudio",
    "SpeechSegment",
    "SpeechStarted",
    "SpeechStopped",
    "Supervision",
    "TextFrame",
    "ToolCall",
    "ToolResult",
    "Transcript",
    "UsageError",
    "UserTurn",
    "VoicegraphError",
    "deadline",
    "graph_from_dict",
    "graph_to_dict",
]

rehome(__name__, globals(), __all__)
