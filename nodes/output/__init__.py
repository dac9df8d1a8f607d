"""Audio output: the agent's speaker, with playout marks and an optional WAV recording."""

from voicegraph.graph import rehome

from ._control import PausePlayout as PausePlayout
from ._control import ResumePlayout as ResumePlayout
from ._player import AudioOutput as AudioOutput

__all__ = [
    "AudioOutput",
    "PausePlayout",
    "ResumePlayout",
]

rehome(__name__, globals(), __all__)
