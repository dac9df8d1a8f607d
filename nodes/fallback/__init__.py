"""Fallback engines: ordered providers with failover and background recovery.

:class:`FallbackLLM`, :class:`FallbackSTT` and :class:`FallbackTTS` are engine combinators:
each is an LLM / STT / TTS engine made of other engines of its stage, so wrapping a cloud
provider with an embedded one is one argument of the host node::

    llm = LLMNode(engine=FallbackLLM(providers=[GeminiLLM(), LlamaLLM()]))

They behave like LiveKit's ``FallbackAdapter``s: a provider that fails or times out is
skipped (the request goes to the next one, nothing of the turn is lost), and is retried in
the background, with exponential backoff that honours the ``Retry-After`` a provider sent,
until it works again. The retries run in the engine's ``background()``, which the host node
runs beside its work. Graph files store the providers under the engine's ``parts``.
"""

from voicegraph.graph import rehome

from ._llm import CONTINUE as CONTINUE
from ._llm import FallbackLLM as FallbackLLM
from ._status import AvailabilityChanged as AvailabilityChanged
from ._status import FallbackConfig as FallbackConfig
from ._status import ProviderStatus as ProviderStatus
from ._stt import FallbackSTT as FallbackSTT
from ._tts import FallbackTTS as FallbackTTS

__all__ = [
    "AvailabilityChanged",
    "FallbackLLM",
    "FallbackSTT",
    "FallbackTTS",
    "ProviderStatus",
]

rehome(__name__, globals(), __all__)
