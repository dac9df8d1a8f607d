"""Fallback nodes: ordered providers with failover and background recovery.

:class:`FallbackLLM`, :class:`FallbackSTT` and :class:`FallbackTTS` are LLM / STT / TTS nodes
themselves, so wrapping a cloud provider with an embedded one is one argument::

    llm = FallbackLLM(providers=[GeminiLLM(), LlamaLLM()])

They behave like LiveKit's ``FallbackAdapter``s: a provider that fails or times out is
skipped (the request goes to the next one, nothing of the turn is lost), and is retried in
the background, with exponential backoff that honours the ``Retry-After`` a provider sent,
until it works again.
"""

from ._llm import CONTINUE as CONTINUE
from ._llm import FallbackLLM as FallbackLLM
from ._pool import AvailabilityChanged as AvailabilityChanged
from ._pool import FallbackConfig as FallbackConfig
from ._pool import ProviderStatus as ProviderStatus
from ._stt import FallbackSTT as FallbackSTT
from ._tts import FallbackTTS as FallbackTTS

__all__ = [
    "CONTINUE",
    "AvailabilityChanged",
    "FallbackConfig",
    "FallbackLLM",
    "FallbackSTT",
    "FallbackTTS",
    "ProviderStatus",
]
