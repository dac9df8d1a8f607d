"""Speech-to-text: the :class:`STTNode` host, the :class:`STTEngine` interface,
:class:`WhisperSTT` (embedded) and :class:`ScriptedSTT` (for tests)."""

from voicegraph.graph import rehome

from ._engine import STTEngine as STTEngine
from ._engine import STTStream as STTStream
from ._events import TurnBoundary as TurnBoundary
from ._node import STTNode as STTNode
from ._scripted import ScriptedSTT as ScriptedSTT
from ._whisper import WhisperSTT as WhisperSTT
from ._whisper import load_model

__all__ = [
    "STTEngine",
    "STTNode",
    "STTStream",
    "TurnBoundary",
    "WhisperSTT",
]

load_whisper_model = load_model  # for voicegraph.nodes.tts (word error rates); not public

rehome(__name__, globals(), __all__)
# a test double: its public home is voicegraph.testing
rehome("voicegraph.testing", globals(), ["ScriptedSTT"])
