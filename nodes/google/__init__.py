"""Google Gemini (``pip install 'voicegraph[google]'``) on the official ``google-genai`` SDK.

* :class:`GeminiLLM` — a streamed LLM engine (``generate_content_stream``) with tools, for
  an :class:`~voicegraph.nodes.llm.LLMNode`; a drop-in for the embedded
  :class:`~voicegraph.nodes.llm.LlamaLLM`.
* :class:`GeminiLive` — a realtime (speech-to-speech) engine on the Live API WebSocket, for
  a :class:`~voicegraph.nodes.realtime.RealtimeNode`: audio in, audio and transcripts out,
  tool calls, server-side barge-in, session resumption.

The API key comes from ``api_key=`` or the ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``
environment variable; a missing key raises :class:`~voicegraph.graph.ConfigError` when the
engine or node is built. The SDK is imported only when it is started (set up).
"""

from voicegraph.graph import rehome

from ._client import KEY_VARIABLES as KEY_VARIABLES
from ._convert import to_contents as to_contents
from ._convert import to_tools as to_tools
from ._live import GeminiLive as GeminiLive
from ._llm import GeminiLLM as GeminiLLM

__all__ = [
    "GeminiLLM",
    "GeminiLive",
]

rehome(__name__, globals(), __all__)
