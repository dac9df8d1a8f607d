"""The :class:`STTEngine` interface: the words spoken in one speech segment."""

from __future__ import annotations

from typing import ClassVar

from voicegraph.graph import Engine, NodeConfig, SpeechSegment

__all__ = ["STTEngine"]


class STTEngine(Engine):
    """A speech-to-text model as an :class:`~voicegraph.nodes.stt.STTNode` calls it.

    Implement :meth:`transcribe`. Segments are 16 kHz mono (what the VAD cuts).

    Config:
        language: the language of the speech and of the transcripts (default ``"en"``).
    """

    kind: ClassVar[str] = "STT"

    class Config(NodeConfig):
        language: str = "en"

    config: Config

    async def transcribe(self, segment: SpeechSegment) -> str:
        """The words spoken in ``segment`` (``""`` if none)."""
        raise NotImplementedError(f"{type(self).__name__} must implement transcribe()")
