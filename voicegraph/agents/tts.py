"""``livekit.agents.tts``'s base class: ``tts.TTS`` is voicegraph's
:class:`~voicegraph.nodes.tts.TTSEngine`.

Not provided: ``SynthesizedAudio`` / ``ChunkedStream`` / ``SynthesizeStream`` /
``AudioEmitter`` (an engine yields audio, see ``TTSEngine``), ``StreamAdapter`` (the
``TTSNode`` host splits sentences itself), ``FallbackAdapter``
(``voicegraph.nodes.fallback.FallbackTTS``).
"""

from voicegraph.nodes.tts import TTSEngine as TTS

__all__ = ["TTS"]
