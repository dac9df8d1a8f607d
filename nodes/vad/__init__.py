"""Voice activity detection: the :class:`VADNode` host, the :class:`VADEngine` interface and
:class:`SileroVAD` (the embedded Silero model)."""

from voicegraph.graph import rehome

from ._engine import VADEngine as VADEngine
from ._events import SpeechPaused as SpeechPaused
from ._events import SpeechResumed as SpeechResumed
from ._node import VADNode as VADNode
from ._silero import SileroVAD as SileroVAD

__all__ = [
    "SileroVAD",
    "SpeechPaused",
    "SpeechResumed",
    "VADEngine",
    "VADNode",
]

rehome(__name__, globals(), __all__)
