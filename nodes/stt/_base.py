"""The :class:`STTNode` base: one speech segment in, one final transcript out."""

from __future__ import annotations

from collections import deque
from typing import Any

from voicegraph.graph import In, Node, NodeConfig, Out, SpeechSegment, Transcript
from voicegraph.nodes._engine import EngineSwitch

__all__ = ["STTNode"]

SAMPLE_RATE = 16000
"""The sample rate STT nodes expect (what the VAD produces)."""
MAX_LATENCIES = 1000
"""How many recent latencies :attr:`STTNode.latencies` keeps."""


class STTNode(Node):
    """Base of speech-to-text nodes: transcribe each VAD segment into a final transcript.

    Subclasses implement :meth:`transcribe`. For every ``SpeechSegment`` on ``speech`` the node
    emits one ``Transcript(text, final=True, start=segment.speech_start,
    end=segment.speech_end, language=config.language)`` on ``transcripts``; an empty (or
    whitespace-only) text emits nothing. Control events (``SpeechStarted``/``SpeechStopped``
    from the VAD, ``Flush``...) are forwarded unchanged to ``transcripts``.

    Ports:
        speech (in): ``SpeechSegment`` at 16 kHz mono (from ``SileroVAD.segments``).
        transcripts (out): final ``Transcript`` frames.

    Metrics: :attr:`latencies` holds the STT latency of each emitted transcript (the last
    1000): the clock time from when the node starts handling the segment to when the
    transcript is emitted (time spent queued on the edge before that is not included). Under
    ``VirtualClock`` model compute run through ``clock.run_sync`` takes zero virtual time, so
    latencies there are 0 unless a subclass declares a cost with ``clock.sleep``.

    :meth:`use_engine` lets another STT node transcribe (an agent's own ``stt=``): from the
    next segment on, its :meth:`transcribe` gives the words and its ``language`` tags them.
    """

    class Config(NodeConfig):
        """Settings shared by STT nodes.

        Attributes:
            language: the language of the speech and of the transcripts ("en").
        """

        language: str = "en"

    config: Config
    speech: In[SpeechSegment] = In(sample_rate=SAMPLE_RATE)
    transcripts: Out[Transcript]

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self.latencies: deque[float] = deque(maxlen=MAX_LATENCIES)
        """STT latency in clock seconds of each emitted transcript (most recent last)."""
        self._engines: EngineSwitch[STTNode] = EngineSwitch(self, STTNode)

    def use_engine(self, engine: STTNode | None) -> None:
        """Have ``engine`` transcribe from the next segment on (``None``: this node itself).

        The engine is set up on first use and closed with this node.

        Raises:
            ConfigError: ``engine`` is not an STT node.
        """
        self._engines.select(engine)

    @property
    def engine(self) -> STTNode:
        """The node that transcribes (this node unless :meth:`use_engine` chose another)."""
        return self._engines.selected or self

    async def close(self) -> None:
        """Close the engines :meth:`use_engine` set up."""
        await self._engines.close()

    async def transcribe(self, segment: SpeechSegment) -> str:
        """Return the words spoken in ``segment`` ("" if none). Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement transcribe()")

    async def on_speech(self, segment: SpeechSegment) -> None:
        """Transcribe one segment and emit its final transcript (if it has words)."""
        t0 = self.clock.now()
        engine = await self._engines.engine()
        text = (await engine.transcribe(segment)).strip()
        if not text:
            return
        transcript = Transcript(
            text,
            final=True,
            start=segment.speech_start,
            end=segment.speech_end,
            language=engine.config.language,
        )
        await self.emit(self.transcripts, transcript)
        self.latencies.append(self.clock.now() - t0)
