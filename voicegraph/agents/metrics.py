"""``livekit.agents.metrics``: the metrics a session reports in ``metrics_collected``
(voicegraph's own classes, :mod:`voicegraph.nodes.agent.metrics`, with LiveKit's names,
fields and ``type`` values).

Not provided: ``RealtimeModelMetrics``, ``DecisionMetrics``, ``EOTInferenceMetrics``,
``InterruptionMetrics`` and their usage classes (no realtime-model, adaptive-interruption or
LiveKit Inference turn-detector metrics in voicegraph).
"""

from voicegraph.nodes.agent.metrics import AgentMetrics as AgentMetrics
from voicegraph.nodes.agent.metrics import AgentSessionUsage as AgentSessionUsage
from voicegraph.nodes.agent.metrics import EOUMetrics as EOUMetrics
from voicegraph.nodes.agent.metrics import LLMMetrics as LLMMetrics
from voicegraph.nodes.agent.metrics import LLMModelUsage as LLMModelUsage
from voicegraph.nodes.agent.metrics import Metadata as Metadata
from voicegraph.nodes.agent.metrics import ModelUsage as ModelUsage
from voicegraph.nodes.agent.metrics import ModelUsageCollector as ModelUsageCollector
from voicegraph.nodes.agent.metrics import STTMetrics as STTMetrics
from voicegraph.nodes.agent.metrics import STTModelUsage as STTModelUsage
from voicegraph.nodes.agent.metrics import TTSMetrics as TTSMetrics
from voicegraph.nodes.agent.metrics import TTSModelUsage as TTSModelUsage
from voicegraph.nodes.agent.metrics import UsageCollector as UsageCollector
from voicegraph.nodes.agent.metrics import UsageSummary as UsageSummary
from voicegraph.nodes.agent.metrics import VADMetrics as VADMetrics
from voicegraph.nodes.agent.metrics import log_metrics as log_metrics

__all__ = [
    "AgentMetrics",
    "AgentSessionUsage",
    "EOUMetrics",
    "LLMMetrics",
    "LLMModelUsage",
    "Metadata",
    "ModelUsage",
    "ModelUsageCollector",
    "STTMetrics",
    "STTModelUsage",
    "TTSMetrics",
    "TTSModelUsage",
    "UsageCollector",
    "UsageSummary",
    "VADMetrics",
    "log_metrics",
]
