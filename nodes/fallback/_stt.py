"""FallbackSTT: an ordered list of STT nodes; the first available one transcribes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from voicegraph.graph import NodeConfig, SpeechSegment
from voicegraph.nodes.stt import STTNode

from ._pool import FallbackConfig, FallbackMixin, describe, timed

__all__ = ["FallbackSTT"]


class FallbackSTT(FallbackMixin, STTNode):
    """An STT node that tries ``providers`` in order (LiveKit's ``stt.FallbackAdapter``).

    It is an :class:`~voicegraph.nodes.stt.STTNode` (one segment in, one final transcript
    out), so it replaces any STT node with one argument::

        stt = FallbackSTT(providers=[ElevenLabsSTT(), WhisperSTT()])

    Each segment goes to the first available provider. If it raises, or takes longer than
    ``attempt_timeout`` seconds (clock time), the next provider transcribes *the same
    segment* (nothing the user said is lost), the failed one is marked unavailable and
    retried in the background with that segment (see :mod:`._pool`), and serves again once
    a retry succeeds. When every provider fails, a :class:`~voicegraph.graph.ProviderError`
    from ``"fallback"`` lists each failure.

    Args:
        providers: the STT nodes, in order of preference (at least one).

    Config (besides ``language``): ``attempt_timeout`` (default 10 s, LiveKit's),
    ``retry_interval`` (5 s, LiveKit's), ``max_retry_interval`` (30 s).

    Attributes:
        status, changes: see :class:`FallbackMixin`.
    """

    kind_name: ClassVar[str] = "STT"

    class Config(STTNode.Config, FallbackConfig):
        attempt_timeout: float = 10.0
        retry_interval: float = 5.0

    config: Config

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        providers: Sequence[STTNode],
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        self._init_pool(providers, STTNode)

    def default_name(self) -> str:
        """``"stt"``."""
        return "stt"

    async def transcribe(self, segment: SpeechSegment) -> str:
        """The first provider's transcript of ``segment`` (see the class docs)."""
        errors: list[str] = []
        for index in self.order():
            provider: STTNode = self.providers[index]
            try:
                text = await timed(
                    self.clock,
                    self.config.attempt_timeout,
                    provider.transcribe(segment),
                    f"STT {index}",
                )
            except Exception as exc:
                errors.append(f"{index} {type(provider).__name__}: {describe(exc)}")
                self._failed(index, exc, _probe(provider, segment))
                continue
            self._succeeded(index)
            return text
        raise self._all_failed(errors)


def _probe(provider: STTNode, segment: SpeechSegment) -> Any:
    async def probe() -> None:
        await provider.transcribe(segment)

    return probe
