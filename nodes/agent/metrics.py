"""LiveKit Agents' ``metrics`` module: the objects of ``metrics_collected`` events and usage.

::

    from voicegraph.nodes.agent import metrics

    @session.on("metrics_collected")
    def on_metrics(ev):
        metrics.log_metrics(ev.metrics)     # LLMMetrics, STTMetrics, TTSMetrics, EOUMetrics

    print(session.usage.model_usage)        # tokens per LLM, audio per STT/TTS
"""

from ._lk_metrics import AgentMetrics as AgentMetrics
from ._lk_metrics import AgentSessionUsage as AgentSessionUsage
from ._lk_metrics import EOUMetrics as EOUMetrics
from ._lk_metrics import LLMMetrics as LLMMetrics
from ._lk_metrics import LLMModelUsage as LLMModelUsage
from ._lk_metrics import Metadata as Metadata
from ._lk_metrics import ModelUsage as ModelUsage
from ._lk_metrics import ModelUsageCollector as ModelUsageCollector
from ._lk_metrics import STTMetrics as STTMetrics
from ._lk_metrics import STTModelUsage as STTModelUsage
from ._lk_metrics import TTSMetrics as TTSMetrics
from ._lk_metrics import TTSModelUsage as TTSModelUsage
from ._lk_metrics import UsageCollector as UsageCollector
from ._lk_metrics import UsageSummary as UsageSummary
from ._lk_metrics import VADMetrics as VADMetrics
from ._lk_metrics import log_metrics as log_metrics

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
