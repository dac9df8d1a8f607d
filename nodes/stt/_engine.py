"""The :class:`STTEngine` interface: the words spoken in one speech segment (and, optionally,
a live :class:`STTStream` giving interim words while the user speaks)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from voicegraph.graph import Engine, NodeConfig, SpeechSegment, UsageError

__all__ = ["STTEngine", "STTStream"]


class STTStream:
    """A live transcription session of a streaming :class:`STTEngine` (see ``stream()``).

    The host pushes the user's audio as it arrives, collects interim words while the user
    speaks, and commits at the end of each utterance for the final words.
    """

    async def push(self, pcm: npt.NDArray[np.int16]) -> None:
        """Send 16 kHz mono samples (1-D)."""
        raise NotImplementedError(f"{type(self).__name__} must implement push()")

    def interim(self) -> list[str]:
        """Interim texts received since the last call (oldest first); never waits.

        Raises the provider's error if the session failed meanwhile.
        """
        return []

    async def commit(self) -> str:
        """End the utterance: wait for and return its final text (``""`` if none)."""
        raise NotImplementedError(f"{type(self).__name__} must implement commit()")

    async def aclose(self) -> None:
        """End the session (the engine stays open)."""


class STTEngine(Engine):
    """A speech-to-text model as an :class:`~voicegraph.nodes.stt.STTNode` calls it.

    Implement :meth:`transcribe`. Segments are 16 kHz mono (what the VAD cuts). Engines
    that transcribe live audio also set :attr:`streaming` and implement :meth:`stream`.

    Config:
        language: the language of the speech and of the transcripts (default ``"en"``).
    """

    kind: ClassVar[str] = "STT"
    streaming: ClassVar[bool] = False
    """Whether :meth:`stream` opens live sessions (interim transcripts)."""
    whole_turns: ClassVar[bool] = False
    """Whether :meth:`transcribe` may be given any stretch of the user's audio, as often as
    the host likes: a local model with no per-call state or cost but compute. The host then
    transcribes a segment together with the earlier speech of its turn, and transcribes
    ahead when the user pauses (see :class:`~voicegraph.nodes.stt.STTNode`)."""

    class Config(NodeConfig):
        language: str = "en"

    config: Config

    async def transcribe(self, segment: SpeechSegment) -> str:
        """The words spoken in ``segment`` (``""`` if none)."""
        raise NotImplementedError(f"{type(self).__name__} must implement transcribe()")

    async def stream(self) -> STTStream:
        """Open a live session (only if :attr:`streaming`).

        Raises:
            UsageError: the engine does not stream.
        """
        raise UsageError(f"{type(self).__name__} does not stream; use transcribe()")
