"""``livekit.agents.metrics``: the metrics a session reports in ``metrics_collected``
(voicegraph's own classes, :mod:`voicegraph.nodes.agent.metrics`, with LiveKit's names,
fields and ``type`` values).

Not provided: ``RealtimeModelMetrics``, ``DecisionMetrics``, ``EOTInferenceMetrics``,
``InterruptionMetrics`` and their usage classes (no realtime-model, adaptive-interruption or
LiveKit Inference turn-detector metrics in voicegraph).
"""

from voicegraph.nodes.agent.metrics import *  # noqa: F403 (the same names, one list)
from voicegraph.nodes.agent.metrics import __all__ as __all__
