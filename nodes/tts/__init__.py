"""Text to speech: sentence splitting, the embedded hibari TTS, and a scripted TTS for tests."""

from ._base import TTSNode as TTSNode
from ._base import resample_linear as resample_linear
from ._base import trim_silence as trim_silence
from ._hibari import HibariTTS as HibariTTS
from ._intelligibility import normalize_words as normalize_words
from ._intelligibility import transcribe_audio as transcribe_audio
from ._intelligibility import word_error_rate as word_error_rate
from ._scripted import ScriptedTTS as ScriptedTTS
from ._splitter import SentenceSplitter as SentenceSplitter
from ._text import clean_text as clean_text
from ._text import filter_emoji as filter_emoji
from ._text import filter_markdown as filter_markdown

__all__ = [
    "HibariTTS",
    "ScriptedTTS",
    "SentenceSplitter",
    "TTSNode",
    "clean_text",
    "filter_emoji",
    "filter_markdown",
    "normalize_words",
    "resample_linear",
    "transcribe_audio",
    "trim_silence",
    "word_error_rate",
]
