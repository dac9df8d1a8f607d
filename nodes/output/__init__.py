"""Audio output: the agent's speaker, with playout marks and an optional WAV recording."""

from ._control import PausePlayout as PausePlayout
from ._control import ResumePlayout as ResumePlayout
from ._player import AudioOutput as AudioOutput

__all__ = ["AudioOutput", "PausePlayout", "ResumePlayout"]
