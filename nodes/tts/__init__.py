"""Text to speech: the :class:`TTSNode` host, its engines (embedded hibari, a scripted TTS for
tests), the :class:`TTSEngine` interface, and sentence splitting."""

from voicegraph.graph import rehome

from ._audio import resample_linear as resample_linear
from ._audio import trim_silence as trim_silence
from ._engine import FloatAudio as FloatAudio
from ._engine import SpeechPiece as SpeechPiece
from ._engine import TTSEngine as TTSEngine
from ._engine import TTSStream as TTSStream
from ._hibari import HibariTTS as HibariTTS
from ._intelligibility import normalize_words as normalize_words
from ._intelligibility import transcribe_audio as transcribe_audio
from ._intelligibility import word_error_rate as word_error_rate
from ._node import TTSNode as TTSNode
from ._scripted import ScriptedTTS as ScriptedTTS
from ._splitter import SentenceSplitter as SentenceSplitter
from ._text import clean_text as clean_text
from ._text import filter_emoji as filter_emoji
from ._text import filter_markdown as filter_markdown

__all__ = [
    "FloatAudio",
    "HibariTTS",
    "SentenceSplitter",
    "SpeechPiece",
    "TTSEngine",
    "TTSNode",
    "TTSStream",
]

rehome(__name__, globals(), __all__)
# test helpers: their public home is voicegraph.testing
rehome("voicegraph.testing", globals(), ["ScriptedTTS", "word_error_rate"])
