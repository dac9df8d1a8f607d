"""Voice activity detection: :class:`SileroVAD` (the embedded Silero model)."""

from ._events import SpeechPaused as SpeechPaused
from ._events import SpeechResumed as SpeechResumed
from ._silero import SileroVAD as SileroVAD

__all__ = ["SileroVAD", "SpeechPaused", "SpeechResumed"]
