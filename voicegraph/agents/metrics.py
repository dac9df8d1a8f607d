"""``livekit.agents.metrics``: the metrics a session reports in ``metrics_collected``.

Not provided yet: LiveKit's ``STTMetrics``, ``EOUMetrics``, ``VADMetrics``,
``RealtimeModelMetrics``, ``UsageCollector``, ``log_metrics`` and the usage summaries.
"""

from voicegraph.nodes.agent import TTSMetrics as TTSMetrics
from voicegraph.nodes.llm import LLMMetrics as LLMMetrics

__all__ = ["LLMMetrics", "TTSMetrics"]
