"""The :class:`STTNode` host: one speech segment in, one final transcript out."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from voicegraph.graph import (
    ConfigError,
    Engine,
    In,
    Node,
    NodeConfig,
    Out,
    SpeechSegment,
    Transcript,
)
from voicegraph.nodes._host import EngineSlot

from ._engine import STTEngine

__all__ = ["SAMPLE_RATE", "STTNode"]

SAMPLE_RATE = 16000
"""The sample rate STT engines get (what the VAD produces)."""
MAX_LATENCIES = 1000
"""How many recent latencies :attr:`STTNode.latencies` keeps."""


class STTNode(Node):
    """Speech to text: transcribe each VAD segment with an :class:`STTEngine`.

    For every ``SpeechSegment`` on ``speech`` the node asks its engine for the words and
    emits one ``Transcript(text, final=True, start=segment.speech_start,
    end=segment.speech_end, language=engine.config.language)`` on ``transcripts``; an empty
    (or whitespace-only) text emits nothing. Control events (``SpeechStarted`` /
    ``SpeechStopped`` from the VAD, ``Flush``...) are forwarded unchanged to ``transcripts``.

    >>> from voicegraph.nodes.stt import ScriptedSTT
    >>> stt = STTNode(engine=ScriptedSTT(texts=["hello"]))
    >>> stt.default_name(), type(stt.engine).__name__
    ('stt', 'ScriptedSTT')

    Ports:
        speech (in): ``SpeechSegment`` at 16 kHz mono (from ``VADNode.segments``).
        transcripts (out): final ``Transcript`` frames.

    Engines: the engine is entered (``async with``: models load) in :meth:`setup` and closed
    with the node. :meth:`set_engine` swaps it (an agent's own ``stt=``) from the next
    segment on; a segment being transcribed finishes with the engine it started with.

    Metrics: :attr:`latencies` holds the STT latency of each emitted transcript (the last
    1000): the clock time from when the node starts handling the segment to when the
    transcript is emitted (time queued on the edge before that is not included). Under
    ``VirtualClock`` model compute run through ``clock.run_sync`` takes zero virtual time, so
    latencies there are 0 unless an engine declares a cost with ``clock.sleep``.

    Args:
        engine: the speech-to-text model (e.g. ``WhisperSTT()``).
    """

    speech: In[SpeechSegment] = In(sample_rate=SAMPLE_RATE)
    transcripts: Out[Transcript]

    def __init__(
        self, config: NodeConfig | None = None, /, *, engine: STTEngine, **settings: Any
    ) -> None:
        super().__init__(config, **settings)
        self._slot: EngineSlot[STTEngine] = EngineSlot(self, STTEngine, engine)
        self.latencies: deque[float] = deque(maxlen=MAX_LATENCIES)
        """STT latency in clock seconds of each emitted transcript (most recent last)."""

    def default_name(self) -> str:
        """``"stt"``."""
        return "stt"

    # ------------------------------------------------------------------ engine

    @property
    def engine(self) -> STTEngine:
        """The engine that transcribes the next segment."""
        return self._slot.current

    def check_engine(self, engine: STTEngine | None) -> None:
        """Raise what :meth:`set_engine` would raise for ``engine``, without switching.

        Raises:
            ConfigError: ``engine`` is not an :class:`STTEngine`.
        """
        if engine is not None and not isinstance(engine, STTEngine):
            raise ConfigError(
                f"{self.name or type(self).__name__}: expected an STTEngine (such as WhisperSTT), "
                f"got {type(engine).__name__}"
            )

    def set_engine(self, engine: STTEngine | None) -> None:
        """Transcribe with ``engine`` from the next segment on (``None``: the one built with).

        The engine is entered on first use and closed with this node.

        Raises:
            ConfigError: ``engine`` is not an :class:`STTEngine`.
        """
        self.check_engine(engine)
        self._slot.select(engine)

    def parts(self) -> Mapping[str, Engine | Sequence[Engine]]:
        """``{"engine": <the engine built with>}`` (what a graph file stores)."""
        return {"engine": self._slot.default}

    # ------------------------------------------------------------------ lifecycle

    async def setup(self) -> None:
        """Enter the engine (load its model) before the first segment."""
        await self._slot.ready()

    async def close(self) -> None:
        """Close every engine this node entered."""
        await self._slot.aclose()
        await super().close()

    async def on_speech(self, segment: SpeechSegment) -> None:
        """Transcribe one segment and emit its final transcript (if it has words)."""
        t0 = self.clock.now()
        engine = await self._slot.ready()
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
