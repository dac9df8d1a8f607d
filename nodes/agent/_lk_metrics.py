"""LiveKit-shaped metrics: the objects of ``metrics_collected`` events, ``log_metrics``, usage.

The session turns what its stages measured (``LLMNode.metrics``, the STT's and TTS's
timeline events, the turn detector's decisions) into LiveKit Agents 1.8's metrics classes,
with LiveKit's ``type`` values and field names. Timestamps are the session's clock seconds
(virtual under ``VirtualClock``), not Unix time, so a scripted run reports the same numbers
every time. Fields a stage does not measure are LiveKit's "unknown" value (0 or -1).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from voicegraph.graph.timeline import STTDone, TTSFirstAudio
    from voicegraph.nodes.llm import LLMMetrics as RawLLMMetrics
    from voicegraph.nodes.turn import TurnDecision

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

logger = logging.getLogger("voicegraph.agent.metrics")


class Metadata(BaseModel):
    """Which model produced the metrics."""

    model_name: str | None = None
    model_provider: str | None = None


class _Metrics(BaseModel):
    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.model_dump(exclude_defaults=True).items())
        return f"{type(self).__name__}({shown})"


class LLMMetrics(_Metrics):
    """One LLM generation (one reply, or one tool round of it). ``ttft`` is -1 if no text."""

    type: Literal["llm_metrics"] = "llm_metrics"
    label: str
    request_id: str
    timestamp: float
    duration: float
    ttft: float
    cancelled: bool
    completion_tokens: int
    prompt_tokens: int
    prompt_cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int
    tokens_per_second: float
    speech_id: str | None = None
    metadata: Metadata | None = None


class STTMetrics(_Metrics):
    """One final transcript: ``duration`` is the STT latency, ``audio_duration`` the seconds of
    audio transcribed."""

    type: Literal["stt_metrics"] = "stt_metrics"
    label: str
    request_id: str
    timestamp: float
    duration: float
    audio_duration: float
    streamed: bool
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    metadata: Metadata | None = None


class TTSMetrics(_Metrics):
    """One synthesized reply: ``ttfb`` is the time to its first audio."""

    type: Literal["tts_metrics"] = "tts_metrics"
    label: str = ""
    request_id: str = ""
    timestamp: float = 0.0
    ttfb: float
    duration: float = 0.0
    audio_duration: float = 0.0
    cancelled: bool = False
    characters_count: int = 0
    streamed: bool = False
    segment_id: str | None = None
    speech_id: str | None = None
    metadata: Metadata | None = None


class VADMetrics(_Metrics):
    """VAD inference totals (LiveKit's shape; voicegraph's session does not emit them)."""

    type: Literal["vad_metrics"] = "vad_metrics"
    label: str
    timestamp: float
    idle_time: float
    inference_duration_total: float
    inference_count: int
    metadata: Metadata | None = None


class EOUMetrics(_Metrics):
    """One end of user turn: delays from the end of speech to the decision and transcript."""

    type: Literal["eou_metrics"] = "eou_metrics"
    timestamp: float
    end_of_utterance_delay: float
    transcription_delay: float
    on_user_turn_completed_delay: float = 0.0
    speech_id: str | None = None
    metadata: Metadata | None = None


AgentMetrics = LLMMetrics | STTMetrics | TTSMetrics | VADMetrics | EOUMetrics
"""Any metrics object of a ``metrics_collected`` event."""


# ---------------------------------------------------------------------- from the stages


def describe(engine: object) -> tuple[str, Metadata]:
    """LiveKit's ``label`` and ``metadata`` for an engine: its class path, model and maker."""
    cls = type(engine)
    config = getattr(engine, "config", None)
    model = getattr(config, "model", None) or getattr(config, "model_name", None)
    provider = (
        cls.__module__.split(".")[2]
        if cls.__module__.startswith("voicegraph.nodes.")
        else (cls.__module__.split(".")[0])
    )
    meta = Metadata(model_name=str(model) if model else cls.__name__, model_provider=provider)
    return f"{cls.__module__}.{cls.__qualname__}", meta


def llm_metrics(m: RawLLMMetrics, engine: object = None) -> LLMMetrics:
    """LiveKit's :class:`LLMMetrics` of one voicegraph generation record."""
    label, meta = describe(engine)
    return LLMMetrics(
        label=label,
        request_id=f"gen_{m.epoch}_{m.step}_{m.started:.3f}",
        timestamp=m.started,
        duration=m.duration,
        ttft=m.ttft if m.ttft is not None else -1.0,
        cancelled=m.cancelled,
        completion_tokens=m.completion_tokens,
        prompt_tokens=m.prompt_tokens,
        total_tokens=m.prompt_tokens + m.completion_tokens,
        tokens_per_second=m.tokens_per_second or 0.0,
        metadata=meta,
    )


def stt_metrics(event: STTDone, engine: object = None, index: int = 0) -> STTMetrics:
    """LiveKit's :class:`STTMetrics` of one final transcript."""
    label, meta = describe(engine)
    return STTMetrics(
        label=label,
        request_id=f"stt_{index}",
        timestamp=event.time,
        duration=event.latency,
        audio_duration=event.audio_duration,
        streamed=False,
        metadata=meta,
    )


def tts_metrics(event: TTSFirstAudio, engine: object = None, index: int = 0) -> TTSMetrics:
    """LiveKit's :class:`TTSMetrics` of one reply's first audio."""
    label, meta = describe(engine)
    return TTSMetrics(
        label=label, request_id=f"tts_{index}", timestamp=event.time, ttfb=event.ttfb,
        metadata=meta,
    )  # fmt: skip


def eou_metrics(d: TurnDecision) -> EOUMetrics:
    """LiveKit's :class:`EOUMetrics` of one end-of-turn decision (media-time delays)."""
    transcribed = max(0.0, d.transcript_at - d.speech_end) if d.transcript_at is not None else 0.0
    return EOUMetrics(
        timestamp=d.clock,
        end_of_utterance_delay=max(0.0, d.decided_at - d.speech_end),
        transcription_delay=transcribed,
    )


# ---------------------------------------------------------------------- logging


def log_metrics(metrics: AgentMetrics, *, logger: logging.Logger | None = None) -> None:
    """Log one metrics object at INFO, its figures in the record's ``extra`` (LiveKit's
    ``metrics.log_metrics``)."""
    log = logger or globals()["logger"]
    extra: dict[str, Any] = {}
    if metrics.metadata is not None:
        extra["model_name"] = metrics.metadata.model_name or "unknown"
        extra["model_provider"] = metrics.metadata.model_provider or "unknown"
    if isinstance(metrics, LLMMetrics):
        title = "LLM metrics"
        extra |= {
            "ttft": round(metrics.ttft, 2),
            "prompt_tokens": metrics.prompt_tokens,
            "completion_tokens": metrics.completion_tokens,
            "tokens_per_second": round(metrics.tokens_per_second, 2),
        }
    elif isinstance(metrics, TTSMetrics):
        title = "TTS metrics"
        extra |= {"ttfb": metrics.ttfb, "audio_duration": round(metrics.audio_duration, 2)}
    elif isinstance(metrics, STTMetrics):
        title = "STT metrics"
        extra |= {"duration": round(metrics.duration, 3), "audio_duration": metrics.audio_duration}
    elif isinstance(metrics, EOUMetrics):
        title = "EOU metrics"
        extra |= {
            "end_of_utterance_delay": round(metrics.end_of_utterance_delay, 2),
            "transcription_delay": round(metrics.transcription_delay, 2),
        }
    else:
        title = "VAD metrics"
        extra |= {"inference_count": metrics.inference_count}
    figures = " ".join(f"{k}={v}" for k, v in extra.items())
    log.info("%s %s", title, figures, extra=extra)


# ---------------------------------------------------------------------- usage


class LLMModelUsage(BaseModel):
    """Tokens one LLM used in the session."""

    type: Literal["llm_usage"] = "llm_usage"
    provider: str
    model: str
    input_tokens: int = 0
    input_cached_tokens: int = 0
    output_tokens: int = 0


class TTSModelUsage(BaseModel):
    """What one TTS synthesized in the session."""

    type: Literal["tts_usage"] = "tts_usage"
    provider: str
    model: str
    characters_count: int = 0
    audio_duration: float = 0.0


class STTModelUsage(BaseModel):
    """What one STT transcribed in the session."""

    type: Literal["stt_usage"] = "stt_usage"
    provider: str
    model: str
    audio_duration: float = 0.0


ModelUsage = LLMModelUsage | TTSModelUsage | STTModelUsage


@dataclass
class AgentSessionUsage:
    """``session.usage``: one entry per model (provider, model) the session used."""

    model_usage: list[ModelUsage] = field(default_factory=list)


class ModelUsageCollector:
    """Adds up metrics per model: ``collector(metrics)`` or :meth:`collect`; then
    :meth:`flatten` (the ``model_usage`` list)."""

    def __init__(self) -> None:
        self._usage: dict[tuple[str, str, str], ModelUsage] = {}

    def __call__(self, metrics: AgentMetrics) -> None:
        self.collect(metrics)

    def collect(self, metrics: AgentMetrics) -> None:
        """Add one metrics object (EOU and VAD metrics carry no usage)."""
        meta = metrics.metadata or Metadata()
        provider = meta.model_provider or "unknown"
        model = meta.model_name or "unknown"
        if isinstance(metrics, LLMMetrics):
            usage = self._usage.setdefault(
                ("llm", provider, model), LLMModelUsage(provider=provider, model=model)
            )
            assert isinstance(usage, LLMModelUsage)
            usage.input_tokens += metrics.prompt_tokens
            usage.input_cached_tokens += metrics.prompt_cached_tokens
            usage.output_tokens += metrics.completion_tokens
        elif isinstance(metrics, TTSMetrics):
            tts = self._usage.setdefault(
                ("tts", provider, model), TTSModelUsage(provider=provider, model=model)
            )
            assert isinstance(tts, TTSModelUsage)
            tts.characters_count += metrics.characters_count
            tts.audio_duration += metrics.audio_duration
        elif isinstance(metrics, STTMetrics):
            stt = self._usage.setdefault(
                ("stt", provider, model), STTModelUsage(provider=provider, model=model)
            )
            assert isinstance(stt, STTModelUsage)
            stt.audio_duration += metrics.audio_duration

    def flatten(self) -> list[ModelUsage]:
        """Copies of the usage per model, in the order first seen."""
        return [u.model_copy() for u in self._usage.values()]

    @property
    def usage(self) -> AgentSessionUsage:
        """The usage so far, as ``session.usage`` reports it."""
        return AgentSessionUsage(model_usage=self.flatten())


@dataclass
class UsageSummary:
    """Totals of a :class:`UsageCollector` (LiveKit's deprecated summary)."""

    llm_prompt_tokens: int = 0
    llm_prompt_cached_tokens: int = 0
    llm_completion_tokens: int = 0
    tts_characters_count: int = 0
    tts_audio_duration: float = 0.0
    stt_audio_duration: float = 0.0


class UsageCollector:
    """LiveKit's deprecated usage totals: ``collector.collect(m)``, ``get_summary()``.

    Prefer ``session.usage`` (or :class:`ModelUsageCollector`); this warns as LiveKit does.
    """

    def __init__(self) -> None:
        warnings.warn(
            "UsageCollector is deprecated: use session.usage or ModelUsageCollector",
            DeprecationWarning,
            stacklevel=2,
        )
        self._summary = UsageSummary()

    def __call__(self, metrics: AgentMetrics) -> None:
        self.collect(metrics)

    def collect(self, metrics: AgentMetrics) -> None:
        """Add one metrics object to the totals."""
        s = self._summary
        if isinstance(metrics, LLMMetrics):
            s.llm_prompt_tokens += metrics.prompt_tokens
            s.llm_prompt_cached_tokens += metrics.prompt_cached_tokens
            s.llm_completion_tokens += metrics.completion_tokens
        elif isinstance(metrics, TTSMetrics):
            s.tts_characters_count += metrics.characters_count
            s.tts_audio_duration += metrics.audio_duration
        elif isinstance(metrics, STTMetrics):
            s.stt_audio_duration += metrics.audio_duration

    def get_summary(self) -> UsageSummary:
        """A copy of the totals so far."""
        return UsageSummary(**vars(self._summary))
