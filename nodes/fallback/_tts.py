"""FallbackTTS: an ordered list of TTS nodes; the first available one speaks each sentence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from voicegraph.graph import NodeConfig
from voicegraph.nodes.tts import TTSNode, resample_linear

from ._pool import FallbackConfig, FallbackMixin, describe, timed

__all__ = ["FallbackTTS"]

FloatAudio = np.ndarray[Any, np.dtype[np.float32]]


class FallbackTTS(FallbackMixin, TTSNode):
    """A TTS node that tries ``providers`` in order (LiveKit's ``tts.FallbackAdapter``).

    It is a :class:`~voicegraph.nodes.tts.TTSNode` (sentences in, 20 ms speech frames out),
    so it replaces any TTS node with one argument::

        tts = FallbackTTS(providers=[ElevenLabsHTTPTTS(), HibariTTS()])

    Each sentence is synthesized whole by the first available provider (its
    :meth:`~voicegraph.nodes.tts.TTSNode.synthesize`), then framed by this node, so a
    provider that fails mid-sentence never leaves half a sentence in the output: the next
    provider speaks *the whole sentence* (no text of the turn is lost, none is repeated). The
    failed provider is marked unavailable and retried in the background with that sentence
    (see :mod:`._pool`). Audio is brought to this node's ``sample_rate`` (the first
    provider's) by linear interpolation, as LiveKit's adapter resamples to a common rate.
    When every provider fails, a :class:`~voicegraph.graph.ProviderError` from
    ``"fallback"`` lists each failure.

    The cost of whole-sentence synthesis: the first audio of a sentence waits for the
    provider to finish it (a streaming provider such as
    :class:`~voicegraph.nodes.elevenlabs.ElevenLabsTTS` streams word by word on its own).

    Args:
        providers: the TTS nodes, in order of preference (at least one).

    Config (besides :class:`~voicegraph.nodes.tts.TTSNode`'s): ``attempt_timeout``
    (default 10 s), ``retry_interval`` (0.5 s), ``max_retry_interval`` (30 s).

    Attributes:
        status, changes: see :class:`FallbackMixin`.
    """

    kind_name: ClassVar[str] = "TTS"

    class Config(TTSNode.Config, FallbackConfig):
        attempt_timeout: float = 10.0

    config: Config

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        providers: Sequence[TTSNode],
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        self._init_pool(providers, TTSNode)
        self.sample_rate = self.providers[0].sample_rate
        self.audio.sample_rate = self.sample_rate

    def default_name(self) -> str:
        """``"tts"``."""
        return "tts"

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        """The first provider's audio for ``text``, at this node's sample rate."""
        errors: list[str] = []
        for index in self.order():
            provider: TTSNode = self.providers[index]
            try:
                parts = await timed(
                    self.clock,
                    self.config.attempt_timeout,
                    provider.synthesize(text),
                    f"TTS {index}",
                )
            except Exception as exc:
                errors.append(f"{index} {type(provider).__name__}: {describe(exc)}")
                self._failed(index, exc, _probe(provider, text))
                continue
            self._succeeded(index)
            return [
                resample_linear(np.asarray(p, np.float32), provider.sample_rate, self.sample_rate)
                for p in parts
            ]
        raise self._all_failed(errors)


def _probe(provider: TTSNode, text: str) -> Any:
    async def probe() -> None:
        await provider.synthesize(text)

    return probe
