"""The agent layer: the standard voice graph, conversation log and per-turn metrics."""

from ._conversation import ConversationLog as ConversationLog
from ._conversation import Utterance as Utterance
from ._metrics import TurnMetrics as TurnMetrics
from ._metrics import format_turn_metrics as format_turn_metrics
from ._metrics import turn_metrics as turn_metrics
from ._voice import MIC_CAPACITY as MIC_CAPACITY
from ._voice import VoicePipeline as VoicePipeline
from ._voice import voice_pipeline as voice_pipeline

__all__ = [
    "MIC_CAPACITY",
    "ConversationLog",
    "TurnMetrics",
    "Utterance",
    "VoicePipeline",
    "format_turn_metrics",
    "turn_metrics",
    "voice_pipeline",
]
