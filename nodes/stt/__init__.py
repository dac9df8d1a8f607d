"""Speech-to-text: the :class:`STTNode` base, :class:`WhisperSTT` (embedded) and
:class:`ScriptedSTT` (for tests)."""

from ._base import STTNode as STTNode
from ._scripted import ScriptedSTT as ScriptedSTT
from ._whisper import WhisperSTT as WhisperSTT

__all__ = ["STTNode", "ScriptedSTT", "WhisperSTT"]
