"""The stages: audio I/O, resampling, VAD, STT, turn detection, LLM, tools, TTS, output,
and the optional cloud providers (Gemini, ElevenLabs) with fallback.

Each stage lives in its own subpackage (``voicegraph.nodes.vad``, ``...stt``, ...) with its
host node (``VADNode``, ``STTNode``, ``TurnDetector``, ``LLMNode``, ``TTSNode``), its engine
interface (``VADEngine``, ...) and its engines (``SileroVAD``, ``WhisperSTT``, ...); they are
re-exported here. Model runtimes are imported only when an engine starts.

The re-exports load on first use (PEP 562), so importing one stage loads only that stage:
``import voicegraph.nodes.vad`` does not bring in the agent layer or the runner. Type checkers
see the names through the ``TYPE_CHECKING`` block below.

The scripted test engines (``ScriptedLLM``, ``ScriptedSTT``, ``ScriptedTTS``) live in
:mod:`voicegraph.testing`; they still resolve here for this release, outside ``__all__``.
"""

from typing import TYPE_CHECKING

from voicegraph.graph import lazy_exports

if TYPE_CHECKING:
    from voicegraph.nodes._host import EngineHost as EngineHost
    from voicegraph.nodes._host import EngineSlot as EngineSlot
    from voicegraph.nodes.agent import ConversationLog as ConversationLog
    from voicegraph.nodes.agent import VoicePipeline as VoicePipeline
    from voicegraph.nodes.agent import voice_pipeline as voice_pipeline
    from voicegraph.nodes.audio import AudioProcessor as AudioProcessor
    from voicegraph.nodes.audio import MemorySink as MemorySink
    from voicegraph.nodes.audio import MemorySource as MemorySource
    from voicegraph.nodes.audio import Resampler as Resampler
    from voicegraph.nodes.audio import WavSink as WavSink
    from voicegraph.nodes.audio import WavSource as WavSource
    from voicegraph.nodes.elevenlabs import ElevenLabsHTTPTTS as ElevenLabsHTTPTTS
    from voicegraph.nodes.elevenlabs import ElevenLabsRealtimeSTT as ElevenLabsRealtimeSTT
    from voicegraph.nodes.elevenlabs import ElevenLabsSTT as ElevenLabsSTT
    from voicegraph.nodes.elevenlabs import ElevenLabsTTS as ElevenLabsTTS
    from voicegraph.nodes.fallback import FallbackLLM as FallbackLLM
    from voicegraph.nodes.fallback import FallbackSTT as FallbackSTT
    from voicegraph.nodes.fallback import FallbackTTS as FallbackTTS
    from voicegraph.nodes.google import GeminiLive as GeminiLive
    from voicegraph.nodes.google import GeminiLLM as GeminiLLM
    from voicegraph.nodes.livekit import RoomInput as RoomInput
    from voicegraph.nodes.livekit import RoomOutput as RoomOutput
    from voicegraph.nodes.livekit import RoomTranscript as RoomTranscript
    from voicegraph.nodes.llm import ChatContext as ChatContext
    from voicegraph.nodes.llm import LlamaLLM as LlamaLLM
    from voicegraph.nodes.llm import LLMEngine as LLMEngine
    from voicegraph.nodes.llm import LLMNode as LLMNode
    from voicegraph.nodes.llm import ScriptedLLM as ScriptedLLM
    from voicegraph.nodes.output import AudioOutput as AudioOutput
    from voicegraph.nodes.realtime import RealtimeEngine as RealtimeEngine
    from voicegraph.nodes.realtime import RealtimeNode as RealtimeNode
    from voicegraph.nodes.stt import ScriptedSTT as ScriptedSTT
    from voicegraph.nodes.stt import STTEngine as STTEngine
    from voicegraph.nodes.stt import STTNode as STTNode
    from voicegraph.nodes.stt import WhisperSTT as WhisperSTT
    from voicegraph.nodes.tools import FunctionTool as FunctionTool
    from voicegraph.nodes.tools import ToolExecutor as ToolExecutor
    from voicegraph.nodes.tools import function_tool as function_tool
    from voicegraph.nodes.tts import HibariTTS as HibariTTS
    from voicegraph.nodes.tts import ScriptedTTS as ScriptedTTS
    from voicegraph.nodes.tts import SentenceSplitter as SentenceSplitter
    from voicegraph.nodes.tts import TTSEngine as TTSEngine
    from voicegraph.nodes.tts import TTSNode as TTSNode
    from voicegraph.nodes.turn import TurnDetector as TurnDetector
    from voicegraph.nodes.turn import TurnEngine as TurnEngine
    from voicegraph.nodes.vad import SileroVAD as SileroVAD
    from voicegraph.nodes.vad import VADEngine as VADEngine
    from voicegraph.nodes.vad import VADNode as VADNode

_LAZY = {
    "EngineHost": "voicegraph.nodes._host",
    "EngineSlot": "voicegraph.nodes._host",
    "AudioOutput": "voicegraph.nodes.output",
    "AudioProcessor": "voicegraph.nodes.audio",
    "ChatContext": "voicegraph.nodes.llm",
    "ConversationLog": "voicegraph.nodes.agent",
    "ElevenLabsHTTPTTS": "voicegraph.nodes.elevenlabs",
    "ElevenLabsRealtimeSTT": "voicegraph.nodes.elevenlabs",
    "ElevenLabsSTT": "voicegraph.nodes.elevenlabs",
    "ElevenLabsTTS": "voicegraph.nodes.elevenlabs",
    "FallbackLLM": "voicegraph.nodes.fallback",
    "FallbackSTT": "voicegraph.nodes.fallback",
    "FallbackTTS": "voicegraph.nodes.fallback",
    "FunctionTool": "voicegraph.nodes.tools",
    "GeminiLLM": "voicegraph.nodes.google",
    "GeminiLive": "voicegraph.nodes.google",
    "RealtimeEngine": "voicegraph.nodes.realtime",
    "RealtimeNode": "voicegraph.nodes.realtime",
    "HibariTTS": "voicegraph.nodes.tts",
    "LLMEngine": "voicegraph.nodes.llm",
    "LLMNode": "voicegraph.nodes.llm",
    "LlamaLLM": "voicegraph.nodes.llm",
    "MemorySink": "voicegraph.nodes.audio",
    "MemorySource": "voicegraph.nodes.audio",
    "Resampler": "voicegraph.nodes.audio",
    "RoomInput": "voicegraph.nodes.livekit",
    "RoomOutput": "voicegraph.nodes.livekit",
    "RoomTranscript": "voicegraph.nodes.livekit",
    "STTEngine": "voicegraph.nodes.stt",
    "STTNode": "voicegraph.nodes.stt",
    "ScriptedLLM": "voicegraph.nodes.llm",
    "ScriptedSTT": "voicegraph.nodes.stt",
    "ScriptedTTS": "voicegraph.nodes.tts",
    "SentenceSplitter": "voicegraph.nodes.tts",
    "SileroVAD": "voicegraph.nodes.vad",
    "TTSEngine": "voicegraph.nodes.tts",
    "TTSNode": "voicegraph.nodes.tts",
    "ToolExecutor": "voicegraph.nodes.tools",
    "TurnDetector": "voicegraph.nodes.turn",
    "TurnEngine": "voicegraph.nodes.turn",
    "VADEngine": "voicegraph.nodes.vad",
    "VADNode": "voicegraph.nodes.vad",
    "VoicePipeline": "voicegraph.nodes.agent",
    "WavSink": "voicegraph.nodes.audio",
    "WavSource": "voicegraph.nodes.audio",
    "WhisperSTT": "voicegraph.nodes.stt",
    "function_tool": "voicegraph.nodes.tools",
    "voice_pipeline": "voicegraph.nodes.agent",
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)


__all__ = [
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
]
