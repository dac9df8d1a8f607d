"""Audio output: the agent's speaker, with playout marks and an optional WAV recording."""

from ._player import AudioOutput as AudioOutput

__all__ = ["AudioOutput"]
