"""ElevenLabs (``pip install 'voicegraph[elevenlabs]'``): TTS and STT on the official SDK.

* :class:`ElevenLabsTTS` — a TTS engine with WebSocket input streaming: text in as the LLM
  writes it, PCM out, with character alignment turned into word-accurate playout
  (``TTSNode(engine=ElevenLabsTTS())``).
* :class:`ElevenLabsHTTPTTS` — a TTS engine making one streamed HTTP request per sentence
  (also word-aligned).
* :class:`ElevenLabsSTT` — Scribe batch transcription per VAD segment, or of a whole file.
* :class:`ElevenLabsRealtimeSTT` — Scribe realtime over WebSocket: interim and final
  transcripts while the user speaks.

The API key comes from ``api_key=`` or the ``ELEVEN_API_KEY`` / ``ELEVENLABS_API_KEY``
environment variable; a missing key raises :class:`~voicegraph.graph.ConfigError` when the
engine or node is built. The SDK is imported only when it is used.
"""

from voicegraph.graph import rehome

from ._align import WordAligner as WordAligner
from ._client import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from ._client import KEY_VARIABLES as KEY_VARIABLES
from ._stt import ElevenLabsSTT as ElevenLabsSTT
from ._stt_realtime import ElevenLabsRealtimeSTT as ElevenLabsRealtimeSTT
from ._tts_http import ElevenLabsHTTPTTS as ElevenLabsHTTPTTS
from ._tts_ws import ElevenLabsTTS as ElevenLabsTTS
from ._voice import DEFAULT_MODEL as DEFAULT_MODEL
from ._voice import DEFAULT_VOICE as DEFAULT_VOICE
from ._voice import ElevenLabsVoice as ElevenLabsVoice

__all__ = [
    "ElevenLabsHTTPTTS",
    "ElevenLabsRealtimeSTT",
    "ElevenLabsSTT",
    "ElevenLabsTTS",
]

rehome(__name__, globals(), __all__)
