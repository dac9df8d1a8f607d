"""The public surface changes deliberately: each package's ``__all__`` is snapshotted here,
every public name reports the module users import it from (as anyio's and httpx's do), and
that keeps pickles, graph files, subclassing and type hints working.

Update SURFACE when a package's API changes on purpose (and say so in the changelog).
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import sys
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from voicegraph.graph import AudioFrame, Graph, graph_from_dict, graph_to_dict, rehome

ROOT = Path(__file__).resolve().parents[1]

SURFACE: dict[str, list[str]] = {
    "voicegraph": [
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
    ],
    "voicegraph.agents.beta": ["EndCallTool", "tools"],
    "voicegraph.agents": [
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
    ],
    "voicegraph.graph": [
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
    ],
    "voicegraph.runner": [
        "BusStats",
        "EdgeStats",
        "NodeStats",
        "RealClock",
        "RunMetrics",
        "Runner",
        "Subscription",
        "Trace",
        "VirtualClock",
        "load_trace",
        "run",
        "run_sync",
    ],
    "voicegraph.runner.worker": [
        "AgentServer",
        "ChildSetup",
        "Credentials",
        "JobContext",
        "JobExecutor",
        "JobInfo",
        "JobProcess",
        "JobRequest",
        "JobResult",
        "JobSession",
        "LocalRoom",
        "ProcOptions",
        "ProcPool",
        "SentText",
        "ServerOptions",
        "SessionReport",
        "credentials",
        "get_job_context",
        "run_app",
    ],
    "voicegraph.evals": [
        "MAX_ATTEMPTS",
        "Comparison",
        "EvalSettings",
        "FileResult",
        "FileSpec",
        "Judge",
        "ProgressBar",
        "Report",
        "Verdict",
        "WorkerStats",
        "compare",
        "evaluate",
        "evaluate_file",
        "failures",
        "load_agent",
        "load_corpus",
        "one_sentence",
        "progress_line",
        "render_html",
        "render_markdown",
        "render_timeline",
        "speech_runs",
        "standard_agent",
        "standard_session",
        "timeline_files",
    ],
    "voicegraph.playground": [
        "DEFAULT_INSTRUCTIONS",
        "OUTPUT_SAMPLE_RATE",
        "SAMPLE_RATES",
        "PlaygroundServer",
        "SessionBridge",
        "agent_server",
        "is_loopback",
        "playground",
        "static_folder",
    ],
    "voicegraph.viz": [
        "Diagram",
        "DiagramWarning",
        "LiveView",
        "Mark",
        "SessionTrace",
        "Span",
        "Timeline",
        "TurnLatency",
        "bottleneck",
        "plot_timeline",
        "render",
        "to_dot",
    ],
    "voicegraph.nodes": [
        "AudioOutput",
        "AudioProcessor",
        "ChatContext",
        "ConversationLog",
        "ElevenLabsHTTPTTS",
        "ElevenLabsRealtimeSTT",
        "ElevenLabsSTT",
        "ElevenLabsTTS",
        "EngineHost",
        "EngineSlot",
        "FallbackLLM",
        "FallbackSTT",
        "FallbackTTS",
        "FunctionTool",
        "GeminiLLM",
        "GeminiLive",
        "HibariTTS",
        "LLMEngine",
        "LLMNode",
        "LlamaLLM",
        "MemorySink",
        "MemorySource",
        "RealtimeEngine",
        "RealtimeNode",
        "Resampler",
        "RoomInput",
        "RoomOutput",
        "RoomTranscript",
        "STTEngine",
        "STTNode",
        "SentenceSplitter",
        "SileroVAD",
        "TTSEngine",
        "TTSNode",
        "ToolExecutor",
        "TurnDetector",
        "TurnEngine",
        "VADEngine",
        "VADNode",
        "VoicePipeline",
        "WavSink",
        "WavSource",
        "WhisperSTT",
        "function_tool",
        "voice_pipeline",
    ],
    "voicegraph.nodes.agent": [
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
    ],
    "voicegraph.nodes.audio": [
        "AudioProcessor",
        "MemorySink",
        "MemorySource",
        "Resampler",
        "WavSink",
        "WavSource",
    ],
    "voicegraph.nodes.elevenlabs": [
        "ElevenLabsHTTPTTS",
        "ElevenLabsRealtimeSTT",
        "ElevenLabsSTT",
        "ElevenLabsTTS",
    ],
    "voicegraph.nodes.fallback": [
        "AvailabilityChanged",
        "FallbackLLM",
        "FallbackSTT",
        "FallbackTTS",
        "ProviderStatus",
    ],
    "voicegraph.nodes.google": [
        "GeminiLLM",
        "GeminiLive",
    ],
    "voicegraph.nodes.livekit": [
        "RoomInput",
        "RoomOutput",
        "RoomTranscript",
    ],
    "voicegraph.nodes.llm": [
        "AgentHandoffItem",
        "AudioContent",
        "CPUUnsupportedError",
        "ChatContent",
        "ChatContext",
        "ChatItem",
        "ChatMessage",
        "ChatRole",
        "DEFAULT_INSTRUCTIONS",
        "FunctionCall",
        "FunctionCallOutput",
        "ImageContent",
        "LLMChunk",
        "LLMEngine",
        "LLMMetrics",
        "LLMNode",
        "LlamaLLM",
        "ReadOnlyChatContext",
        "ReplyRequest",
    ],
    "voicegraph.nodes.output": [
        "AudioConfig",
        "AudioOutput",
        "AudioSource",
        "BackgroundAudio",
        "BackgroundFrame",
        "BuiltinAudioClip",
        "PlayHandle",
        "Sound",
        "prepare_sound",
        "PausePlayout",
        "ResumePlayout",
    ],
    "voicegraph.nodes.realtime": [
        "AudioDelta",
        "InputTranscript",
        "RealtimeEngine",
        "RealtimeEvent",
        "RealtimeNode",
        "RealtimeSession",
        "ResponseInterrupted",
        "TextDelta",
        "ToolCallRequest",
        "TurnComplete",
    ],
    "voicegraph.nodes.samples": [
        "SAMPLES",
        "sample_path",
    ],
    "voicegraph.nodes.stt": [
        "STTEngine",
        "STTNode",
        "STTStream",
        "TurnBoundary",
        "WhisperSTT",
    ],
    "voicegraph.nodes.tools": [
        "FunctionTool",
        "SilentToolResult",
        "StopResponse",
        "ToolArgumentsError",
        "ToolError",
        "ToolExecutor",
        "ToolLike",
        "ToolTimeoutError",
        "function_tool",
    ],
    "voicegraph.nodes.tts": [
        "FloatAudio",
        "HibariTTS",
        "SentenceSplitter",
        "SpeechPiece",
        "TTSEngine",
        "TTSNode",
        "TTSStream",
    ],
    "voicegraph.nodes.turn": [
        "AllowInterruptions",
        "ClearTurn",
        "CommitTurn",
        "HeuristicTurn",
        "LlamaTurn",
        "SmartTurn",
        "TurnCommand",
        "TurnControl",
        "TurnDecision",
        "TurnDetector",
        "TurnEngine",
        "end_of_turn_probability",
    ],
    "voicegraph.nodes.vad": [
        "SileroVAD",
        "SpeechPaused",
        "SpeechResumed",
        "VADEngine",
        "VADNode",
    ],
    "voicegraph.testing": [
        "JUDGE_INSTRUCTIONS",
        "AgentHandoffEvent",
        "ChatMessageEvent",
        "DispatchedJob",
        "EventAssert",
        "FakeLiveKitServer",
        "FakeWorker",
        "FunctionCallEvent",
        "FunctionCallOutputEvent",
        "RunAssert",
        "RunEvent",
        "RunResult",
        "ScriptedLLM",
        "ScriptedReply",
        "ScriptedSTT",
        "ScriptedStep",
        "ScriptedTTS",
        "ScriptedToolCall",
        "mock_tools",
        "word_error_rate",
    ],
}


def packages() -> list[str]:
    """Every package the wheel ships, and the voicegraph.testing module."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [*config["tool"]["setuptools"]["packages"], "voicegraph.testing"]


def public_objects() -> list[tuple[str, str, Any]]:
    """(package, name, object) for every class and function in every ``__all__``."""
    found = []
    for package in packages():
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) or inspect.isfunction(obj):
                found.append((package, name, obj))
    return found


def test_every_package_has_a_snapshot() -> None:
    assert sorted(SURFACE) == sorted(packages()), "add the package's __all__ to SURFACE"


@pytest.mark.parametrize("package", sorted(SURFACE))
def test_the_surface_is_the_snapshot(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == SURFACE[package], "update SURFACE deliberately when the API changes"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing


def test_public_names_show_the_module_they_are_imported_from() -> None:
    wrong = []
    for package, name, obj in public_objects():
        home = obj.__module__
        if any(part.startswith("_") for part in home.split(".")):
            wrong.append(f"{package}.{name}: {home}")
        elif getattr(importlib.import_module(home), obj.__name__, None) is not obj:
            wrong.append(f"{package}.{name}: {home} does not export it")
    assert not wrong, wrong
    import voicegraph.graph

    assert voicegraph.graph.Node.__module__ == "voicegraph.graph"
    assert voicegraph.graph.Node.setup.__module__ == "voicegraph.graph"  # methods move too


def test_public_names_pickle_by_reference() -> None:
    for _, _, obj in public_objects():
        assert pickle.loads(pickle.dumps(obj)) is obj, obj


def test_frames_and_nested_configs_pickle() -> None:
    import numpy as np

    from voicegraph.nodes.llm import LLMNode

    frame = AudioFrame(np.zeros((320, 1), np.int16), 16000, pts=0.5)
    back = pickle.loads(pickle.dumps(frame))
    assert type(back) is AudioFrame and back.pts == frame.pts
    config = LLMNode.Config(instructions="Be brief.")
    assert type(config).__qualname__ == "LLMNode.Config"
    assert pickle.loads(pickle.dumps(config)) == config


def test_type_hints_resolve_outside_the_defining_module() -> None:
    hints = typing.get_type_hints(AudioFrame)
    assert hints["pts"] is float and hints["sample_rate"] is int


def test_a_subclass_of_a_library_node_keeps_its_ports() -> None:
    from voicegraph.nodes.llm import LLMNode
    from voicegraph.nodes.tts import TTSNode
    from voicegraph.testing import ScriptedLLM, ScriptedTTS

    class MyLLM(LLMNode):
        pass

    class MyTTS(TTSNode):
        pass

    def frame_types(cls: type[Any]) -> dict[str, Any]:
        return {name: types_ for name, (_, types_) in cls._port_specs.items()}

    MyLLM(engine=ScriptedLLM(replies=["hi"]))  # ports resolve (a NameError would raise here)
    MyTTS(engine=ScriptedTTS())
    assert frame_types(MyLLM) == frame_types(LLMNode) != {}
    assert frame_types(MyTTS) == frame_types(TTSNode) != {}


def test_test_helpers_live_in_voicegraph_testing() -> None:
    import voicegraph.nodes.llm
    import voicegraph.nodes.stt
    import voicegraph.nodes.tts
    import voicegraph.runner.worker
    import voicegraph.testing as testing

    moved = {
        voicegraph.nodes.llm: ["ScriptedLLM", "ScriptedReply", "ScriptedStep", "ScriptedToolCall"],
        voicegraph.nodes.stt: ["ScriptedSTT"],
        voicegraph.nodes.tts: ["ScriptedTTS", "word_error_rate"],
        voicegraph.runner.worker: ["FakeLiveKitServer"],
    }
    for package, names in moved.items():
        for name in names:
            obj = getattr(testing, name)
            assert obj.__module__ == "voicegraph.testing", name
            assert getattr(package, name) is obj  # still importable there for a release
            assert name not in package.__all__, name


def test_graph_files_name_the_test_engines_by_their_public_module() -> None:
    from voicegraph.nodes.llm import LLMNode
    from voicegraph.testing import ScriptedLLM

    g = Graph()
    g.add(LLMNode(engine=ScriptedLLM(replies=["hi"])), name="llm")
    data = graph_to_dict(g)
    (node,) = data["nodes"]
    assert node["type"] == "voicegraph.nodes.llm:LLMNode"
    assert node["parts"]["engine"]["type"] == "voicegraph.testing:ScriptedLLM"
    assert graph_to_dict(graph_from_dict(data)) == data
    node["parts"]["engine"]["type"] = "voicegraph.nodes.llm:ScriptedLLM"  # files written before
    assert graph_to_dict(graph_from_dict(data))["nodes"][0]["parts"]["engine"]["type"] == (
        "voicegraph.testing:ScriptedLLM"
    )


def test_rehome_moves_only_names_still_in_a_private_module() -> None:
    impl = types.ModuleType("voicegraph.fake._impl")
    exec(
        "from __future__ import annotations\n"
        "import fractions\n"
        "class Thing:\n"
        "    size: fractions.Fraction\n"
        "    def grow(self) -> None: ...\n"
        "    class Inner: ...\n"
        "def helper() -> None: ...\n"
        "def other() -> None: ...\n"
        "class Public: ...\n"
        "Public.__module__ = 'voicegraph.other'\n",
        impl.__dict__,
    )
    home = types.ModuleType("voicegraph.fake")
    sys.modules.update({impl.__name__: impl, home.__name__: home})
    try:
        namespace = {**vars(impl), "alias": impl.other}
        rehome("voicegraph.fake", namespace, ["Thing", "helper", "Public", "alias"])
    finally:
        del sys.modules[impl.__name__], sys.modules[home.__name__]
    assert impl.Thing.__module__ == impl.Thing.grow.__module__ == "voicegraph.fake"
    assert impl.Thing.Inner.__module__ == "voicegraph.fake"
    assert impl.helper.__module__ == "voicegraph.fake"
    assert impl.other.__module__ == "voicegraph.fake._impl"  # an alias: pickle needs its name
    assert impl.Public.__module__ == "voicegraph.other"  # already public: left alone
    import fractions

    assert typing.get_type_hints(impl.Thing) == {"size": fractions.Fraction}
