"""A scripted STT engine for orchestration tests: no model, fixed texts in order."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from voicegraph.graph import NodeConfig, SpeechSegment

from ._engine import STTEngine

__all__ = ["ScriptedSTT"]


class ScriptedSTT(STTEngine):
    """Return ``texts`` in order, one per segment, instead of recognising speech.

    Use it to test turn taking, LLM and TTS orchestration without a model. Once the script is
    used up, further segments give no transcript. An empty string in ``texts`` also gives
    none (like a segment with no words). ``delay`` simulates the recognition time on the
    host's clock (so it also shows in ``STTNode.latencies`` under ``VirtualClock``). The
    script starts from the beginning each time the engine is started.

    >>> from voicegraph.nodes.stt import STTNode
    >>> stt = STTNode(engine=ScriptedSTT(texts=["hello", "what time is it"]))
    """

    class Config(STTEngine.Config):
        """Settings of :class:`ScriptedSTT`.

        Attributes:
            texts: the transcripts, in order, one per segment ([]).
            delay: seconds of clock time each recognition takes (0.0).
        """

        texts: list[str] = Field(default_factory=list)
        delay: float = Field(0.0, ge=0.0)

    config: Config

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self.index = 0
        """How many segments have been transcribed (the next text's position)."""

    async def start(self) -> None:
        """Start the script from the beginning."""
        self.index = 0

    async def transcribe(self, segment: SpeechSegment) -> str:
        """The next text of the script ("" once it is used up)."""
        i, self.index = self.index, self.index + 1
        if self.config.delay:
            await self.clock.sleep(self.config.delay)
        texts = self.config.texts
        return texts[i] if i < len(texts) else ""
