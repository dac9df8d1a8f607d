"""``livekit.agents.stt``'s base class: ``stt.STT`` is voicegraph's
:class:`~voicegraph.nodes.stt.STTEngine`.

Not provided: ``SpeechEvent`` / ``SpeechData`` / ``SpeechStream`` (an engine returns
transcripts, see ``STTEngine``), ``StreamAdapter`` (the ``STTNode`` host segments audio with
the VAD itself), ``FallbackAdapter`` (``voicegraph.nodes.fallback.FallbackSTT``),
``MultiSpeakerAdapter``.
"""

from voicegraph.nodes.stt import STTEngine as STT

__all__ = ["STT"]
