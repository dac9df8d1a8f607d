"""Realtime (speech-to-speech) models: the :class:`RealtimeNode` host and the
:class:`RealtimeEngine` interface its engines implement (e.g. ``GeminiLive`` in
``voicegraph.nodes.google``), with the session and the events an engine yields.

>>> from voicegraph.nodes.realtime import RealtimeEngine, RealtimeNode
>>> RealtimeEngine.kind, RealtimeEngine.input_rate, RealtimeEngine.output_rate
('realtime', 16000, 24000)
"""

from voicegraph.graph import rehome

from ._engine import AudioDelta as AudioDelta
from ._engine import InputTranscript as InputTranscript
from ._engine import RealtimeEngine as RealtimeEngine
from ._engine import RealtimeEvent as RealtimeEvent
from ._engine import RealtimeSession as RealtimeSession
from ._engine import ResponseInterrupted as ResponseInterrupted
from ._engine import TextDelta as TextDelta
from ._engine import ToolCallRequest as ToolCallRequest
from ._engine import TurnComplete as TurnComplete
from ._node import RealtimeNode as RealtimeNode

__all__ = [
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
]

rehome(__name__, globals(), __all__)
