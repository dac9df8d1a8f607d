"""voicegraph: realtime voice AI agents as typed dataflow graphs.

Build a graph of typed nodes, check it, run it with bounded edges and interrupts::

    import voicegraph as vg

    with vg.Graph() as g:
        source >> stage >> sink
    metrics = vg.run_sync(g)

Subpackages: ``voicegraph.graph`` (what a pipeline is), ``voicegraph.runner`` (how it runs),
``voicegraph.nodes`` (the stages; ``voicegraph.nodes.agent`` is the agent layer),
``voicegraph.viz`` (seeing it).
"""

import os as _os
from typing import TYPE_CHECKING

# When the repository root is on sys.path (pytest, Jupyter at the root), this folder shadows the
# installed package; let the sibling root folders (graph/, runner/, ...) resolve as subpackages.
if not _os.path.isdir(_os.path.join(__path__[0], "graph")):
    __path__.append(_os.path.dirname(__path__[0]))

from voicegraph.graph import DEFAULT_CAPACITY as DEFAULT_CAPACITY
from voicegraph.graph import UNSTAMPED as UNSTAMPED
from voicegraph.graph import AudioFrame as AudioFrame
from voicegraph.graph import Clock as Clock
from voicegraph.graph import ConfigError as ConfigError
from voicegraph.graph import Control as Control
from voicegraph.graph import DeadlockError as DeadlockError
from voicegraph.graph import Edge as Edge
from voicegraph.graph import EndOfStream as EndOfStream
from voicegraph.graph import Event as Event
from voicegraph.graph import Flush as Flush
from voicegraph.graph import Frame as Frame
from voicegraph.graph import Graph as Graph
from voicegraph.graph import GraphError as GraphError
from voicegraph.graph import In as In
from voicegraph.graph import InputError as InputError
from voicegraph.graph import Interrupt as Interrupt
from voicegraph.graph import LLMText as LLMText
from voicegraph.graph import MissingDependencyError as MissingDependencyError
from voicegraph.graph import Node as Node
from voicegraph.graph import NodeConfig as NodeConfig
from voicegraph.graph import NodeError as NodeError
from voicegraph.graph import NodeFailed as NodeFailed
from voicegraph.graph import Out as Out
from voicegraph.graph import PlayoutMark as PlayoutMark
from voicegraph.graph import Policy as Policy
from voicegraph.graph import Port as Port
from voicegraph.graph import ProviderError as ProviderError
from voicegraph.graph import ProviderTimeoutError as ProviderTimeoutError
from voicegraph.graph import RunnerError as RunnerError
from voicegraph.graph import Sentence as Sentence
from voicegraph.graph import SpeechAudio as SpeechAudio
from voicegraph.graph import SpeechSegment as SpeechSegment
from voicegraph.graph import SpeechStarted as SpeechStarted
from voicegraph.graph import SpeechStopped as SpeechStopped
from voicegraph.graph import Supervision as Supervision
from voicegraph.graph import TextFrame as TextFrame
from voicegraph.graph import ToolCall as ToolCall
from voicegraph.graph import ToolResult as ToolResult
from voicegraph.graph import Transcript as Transcript
from voicegraph.graph import UsageError as UsageError
from voicegraph.graph import UserTurn as UserTurn
from voicegraph.graph import VoicegraphError as VoicegraphError
from voicegraph.graph import lazy_exports  # the facade loads the other layers on first use
from voicegraph.graph import set_svg_renderer as _set_svg_renderer


def _graph_svg(graph: Graph) -> str | None:
    """Jupyter's picture of a graph: viz loads on the first one (graph never imports viz)."""
    from voicegraph.viz import render

    return render(graph, "svg")._repr_svg_()


_set_svg_renderer(_graph_svg)

# The runner and the agent layer load on first use (PEP 562), so `import voicegraph` stays
# fast and importing one stage (`import voicegraph.nodes.vad`, which runs this file first)
# loads neither. Type checkers see the names through the block below.
if TYPE_CHECKING:
    from voicegraph.nodes.agent import Agent as Agent
    from voicegraph.nodes.agent import AgentHandoff as AgentHandoff
    from voicegraph.nodes.agent import AgentSession as AgentSession
    from voicegraph.nodes.agent import AgentTask as AgentTask
    from voicegraph.nodes.agent import RunContext as RunContext
    from voicegraph.nodes.agent import voice_pipeline as voice_pipeline
    from voicegraph.nodes.llm import ChatContext as ChatContext
    from voicegraph.nodes.tools import function_tool as function_tool
    from voicegraph.runner import EdgeStats as EdgeStats
    from voicegraph.runner import NodeStats as NodeStats
    from voicegraph.runner import RealClock as RealClock
    from voicegraph.runner import RunMetrics as RunMetrics
    from voicegraph.runner import Runner as Runner
    from voicegraph.runner import Trace as Trace
    from voicegraph.runner import VirtualClock as VirtualClock
    from voicegraph.runner import load_trace as load_trace
    from voicegraph.runner import run as run
    from voicegraph.runner import run_sync as run_sync

_LAZY = {
    "Agent": "voicegraph.nodes.agent",
    "AgentHandoff": "voicegraph.nodes.agent",
    "AgentSession": "voicegraph.nodes.agent",
    "AgentTask": "voicegraph.nodes.agent",
    "ChatContext": "voicegraph.nodes.llm",
    "EdgeStats": "voicegraph.runner",
    "NodeStats": "voicegraph.runner",
    "RealClock": "voicegraph.runner",
    "RunContext": "voicegraph.nodes.agent",
    "RunMetrics": "voicegraph.runner",
    "Runner": "voicegraph.runner",
    "Trace": "voicegraph.runner",
    "VirtualClock": "voicegraph.runner",
    "function_tool": "voicegraph.nodes.tools",
    "load_trace": "voicegraph.runner",
    "run": "voicegraph.runner",
    "run_sync": "voicegraph.runner",
    "voice_pipeline": "voicegraph.nodes.agent",
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)


__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentHandoff",
    "AgentSession",
    "AgentTask",
    "AudioFrame",
    "ChatContext",
    "Clock",
    "ConfigError",
    "Control",
    "DeadlockError",
    "Edge",
    "EndOfStream",
    "Event",
    "Flush",
    "Frame",
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
    "RunContext",
    "RunMetrics",
    "Runner",
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
    "Trace",
    "Transcript",
    "UsageError",
    "UserTurn",
    "VirtualClock",
    "VoicegraphError",
    "__version__",
    "function_tool",
    "load_trace",
    "run",
    "run_sync",
    "voice_pipeline",
]
