"""Speech-to-text: the :class:`STTNode` host, the :class:`STTEngine` interface,
:class:`WhisperSTT` (embedded) and :class:`ScriptedSTT` (for tests)."""

from ._engine import STTEngine as STTEngine
from ._engine import STTStream as STTStream
from ._node import STTNode as STTNode
from ._scripted import ScriptedSTT as ScriptedSTT
from ._whisper import WhisperSTT as WhisperSTT
from ._whisper import load_model as load_whisper_model

__all__ = ["STTEngine", "STTNode", "STTStream", "ScriptedSTT", "WhisperSTT", "load_whisper_model"]
