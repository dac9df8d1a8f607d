"""``livekit.agents.vad``'s base class: ``vad.VAD`` is voicegraph's
:class:`~voicegraph.nodes.vad.VADEngine` (``voicegraph.nodes.vad.SileroVAD`` is the
embedded one, as ``livekit.plugins.silero.VAD``).

Not provided: ``VADEvent`` / ``VADStream`` (the ``VADNode`` host emits speech segments).
"""

from voicegraph.nodes.vad import VADEngine as VAD

__all__ = ["VAD"]
