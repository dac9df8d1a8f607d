"""FallbackSTT: an STT engine made of ordered STT engines; the first available one transcribes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from voicegraph.graph import Engine, NodeConfig, SpeechSegment
from voicegraph.nodes.stt import STTEngine

from ._pool import FallbackEngine, Probe
from ._status import FallbackConfig, describe
from ._timed import timed

__all__ = ["FallbackSTT"]


class FallbackSTT(FallbackEngine[STTEngine], STTEngine):
    """An STT engine that tries ``providers`` in order (LiveKit's ``stt.FallbackAdapter``).

    It is an :class:`~voicegraph.nodes.stt.STTEngine` itself, so it goes wherever one model
    would::

        stt = STTNode(engine=FallbackSTT(providers=[ElevenLabsSTT(), WhisperSTT()]))

    >>> from voicegraph.nodes.stt import ScriptedSTT, STTNode
    >>> stt = STTNode(engine=FallbackSTT(providers=[ScriptedSTT(), ScriptedSTT()]))
    >>> [type(p).__name__ for p in stt.engine.parts()["providers"]]
    ['ScriptedSTT', 'ScriptedSTT']

    Each segment goes to the first available provider. If it raises, or takes longer than
    ``attempt_timeout`` seconds (clock time), the next provider transcribes *the same
    segment* (nothing the user said is lost), the failed one is marked unavailable and
    retried in the background with that segment (see :mod:`._pool`), and serves again once
    a retry succeeds. When every provider fails, a :class:`~voicegraph.graph.ProviderError`
    from ``"fallback"`` lists each failure.

    Args:
        providers: the STT engines, in order of preference (at least one).

    Config (besides ``language``, which the providers do not take from here): ``attempt_timeout``
    (default 10 s, LiveKit's), ``retry_interval`` (5 s, LiveKit's), ``max_retry_interval`` (30 s).

    Attributes:
        providers, status, changes: see :class:`~._pool.FallbackEngine`.
    """

    provider_kind: ClassVar[type[Engine]] = STTEngine

    class Config(STTEngine.Config, FallbackConfig):
        attempt_timeout: float = 10.0
        retry_interval: float = 5.0

    config: Config

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        providers: Sequence[STTEngine],
        **settings: Any,
    ) -> None:
        super().__init__(config, providers=providers, **settings)

    async def transcribe(self, segment: SpeechSegment) -> str:
        """The first provider's transcript of ``segment`` (see the class docs)."""
        errors: list[str] = []
        for index in self.order():
            provider = self.providers[index]
            try:
                work = provider.transcribe(segment)
                text = await timed(self.clock, self.config.attempt_timeout, work, f"STT {index}")
            except Exception as exc:
                errors.append(f"{index} {provider.label()}: {describe(exc)}")
                self.failed(index, exc, _probe(provider, segment))
                continue
            self.succeeded(index)
            return text
        raise self.all_failed(errors)


def _probe(provider: STTEngine, segment: SpeechSegment) -> Probe:
    async def probe() -> None:
        await provider.transcribe(segment)

    return probe
