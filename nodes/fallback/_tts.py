"""FallbackTTS: a TTS engine made of ordered TTS engines; the first available one speaks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from voicegraph.graph import Engine, NodeConfig
from voicegraph.nodes.tts import FloatAudio, TTSEngine, resample_linear

from ._pool import FallbackEngine, Probe
from ._status import FallbackConfig, describe
from ._timed import timed

__all__ = ["FallbackTTS"]


class FallbackTTS(FallbackEngine[TTSEngine], TTSEngine):
    """A TTS engine that tries ``providers`` in order (LiveKit's ``tts.FallbackAdapter``).

    It is a :class:`TTSEngine` itself, so it goes wherever one voice would::

        tts = TTSNode(engine=FallbackTTS(providers=[ElevenLabsHTTPTTS(), HibariTTS()]))

    >>> from voicegraph.nodes.tts import ScriptedTTS, TTSNode
    >>> voices = [ScriptedTTS(sample_rate=24000), ScriptedTTS(sample_rate=16000)]
    >>> TTSNode(engine=FallbackTTS(providers=voices)).sample_rate  # the first provider's
    24000

    Each sentence is synthesized whole by the first available provider, so a provider that
    fails mid-sentence never leaves half a sentence in the output: the next provider speaks
    *the whole sentence* (no text of the turn is lost, none is repeated). The failed
    provider is marked unavailable and retried in the background with that sentence (see
    :mod:`._pool`). Every provider's audio is brought to this engine's :attr:`sample_rate`
    by linear interpolation, as LiveKit's adapter resamples to a common rate. When every
    provider fails, a :class:`~voicegraph.graph.ProviderError` from ``"fallback"`` lists
    each failure.

    Args:
        providers: the TTS engines, in order of preference (at least one).

    Config: ``sample_rate`` (of the audio it returns; default ``None``: the first
    provider's), ``attempt_timeout`` (default 10 s), ``retry_interval`` (0.5 s),
    ``max_retry_interval`` (30 s).

    Attributes:
        sample_rate: samples per second of the audio :meth:`synthesize` returns.
        providers, status, changes: see :class:`~._pool.FallbackEngine`.
    """

    provider_kind: ClassVar[type[Engine]] = TTSEngine

    class Config(FallbackConfig):
        attempt_timeout: float = 10.0
        sample_rate: int | None = Field(None, gt=0)

    config: Config

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        providers: Sequence[TTSEngine],
        **settings: Any,
    ) -> None:
        super().__init__(config, providers=providers, **settings)
        self.sample_rate = self.config.sample_rate or self.providers[0].sample_rate

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        """The first provider's audio for ``text``, at :attr:`sample_rate`."""
        errors: list[str] = []
        for index in self.order():
            provider = self.providers[index]
            try:
                work = provider.synthesize(text)
                parts = await timed(self.clock, self.config.attempt_timeout, work, f"TTS {index}")
            except Exception as exc:
                errors.append(f"{index} {provider.label()}: {describe(exc)}")
                self.failed(index, exc, _probe(provider, text))
                continue
            self.succeeded(index)
            rate, target = provider.sample_rate, self.sample_rate
            return [resample_linear(np.asarray(p, np.float32), rate, target) for p in parts]
        raise self.all_failed(errors)


def _probe(provider: TTSEngine, text: str) -> Probe:
    async def probe() -> None:
        await provider.synthesize(text)

    return probe
