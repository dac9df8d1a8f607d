"""LiveKit-shaped metrics: ``metrics_collected`` carries LLMMetrics/STTMetrics/TTSMetrics/
EOUMetrics with LiveKit's ``type`` values and fields; ``log_metrics``; ``session.usage``;
the (deprecated) ``UsageCollector``."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from agent_helpers import Voice

from voicegraph.nodes.agent import Agent, AgentSession, metrics
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.runner import VirtualClock


def collected(session: Any) -> list[Any]:
    return [e.metrics for e in session.events if e.type == "metrics_collected"]


async def test_a_voice_turn_reports_livekits_metrics(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"), said=[(0.5, 1.5, "What time is it?")], seconds=5,
        replies=["It is noon now."],
    )  # fmt: skip
    found = {m.type: m for m in collected(session)}
    assert sorted(found) == ["eou_metrics", "llm_metrics", "stt_metrics", "tts_metrics"]
    llm, stt, tts, eou = (found[k] for k in ("llm_metrics", "stt_metrics", "tts_metrics",
                                              "eou_metrics"))  # fmt: skip
    assert isinstance(llm, metrics.LLMMetrics) and isinstance(eou, metrics.EOUMetrics)
    assert llm.label.endswith("ScriptedLLM") and llm.metadata is not None
    assert llm.ttft == pytest.approx(0.1) and not llm.cancelled  # ScriptedLLM's first token
    assert llm.completion_tokens > 0
    assert llm.total_tokens == llm.prompt_tokens + llm.completion_tokens
    assert isinstance(stt, metrics.STTMetrics) and stt.label.endswith("ScriptedSTT")
    assert stt.duration >= 0 and not stt.streamed
    assert 1.5 <= stt.audio_duration <= 3.0  # the 1.5 s said, with the VAD's padding
    assert isinstance(tts, metrics.TTSMetrics) and tts.ttfb >= 0
    # the user stopped at 2.0 s; the turn was decided after the endpointing delay
    assert 0.0 < eou.end_of_utterance_delay < 2.0
    assert eou.transcription_delay >= 0.0
    usage = session.usage.model_usage
    assert [u.type for u in usage] == ["llm_usage", "stt_usage", "tts_usage"]
    assert usage[0].output_tokens == llm.completion_tokens and usage[0].provider == "voicegraph"
    assert usage[1].audio_duration == stt.audio_duration


async def test_text_turns_add_up_in_session_usage() -> None:
    llm = ScriptedLLM(replies=["One two three.", "Four five."])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        await session.run(user_input="Hello")
        await session.run(user_input="More")
        llm = [m for m in collected(session) if m.type == "llm_metrics"]
        assert len(llm) == 2
        (usage,) = session.usage.model_usage
        assert isinstance(usage, metrics.LLMModelUsage)
        assert usage.output_tokens == sum(m.completion_tokens for m in llm) > 0
        assert usage.model == "ScriptedLLM"


def test_log_metrics_logs_the_figures(caplog: pytest.LogCaptureFixture) -> None:
    m = metrics.LLMMetrics(
        label="x", request_id="r", timestamp=1.0, duration=0.5, ttft=0.123, cancelled=False,
        completion_tokens=12, prompt_tokens=30, total_tokens=42, tokens_per_second=24.0,
    )  # fmt: skip
    eou = metrics.EOUMetrics(timestamp=2.0, end_of_utterance_delay=0.456,
                             transcription_delay=0.1)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="voicegraph.agent.metrics"):
        metrics.log_metrics(m)
        metrics.log_metrics(eou)
    first, second = caplog.records
    assert first.getMessage().startswith("LLM metrics") and "ttft=0.12" in first.getMessage()
    assert first.completion_tokens == 12  # type: ignore[attr-defined]
    assert "end_of_utterance_delay=0.46" in second.getMessage()
    assert m.type == "llm_metrics" and eou.type == "eou_metrics"
    assert metrics.VADMetrics(label="v", timestamp=0, idle_time=0, inference_duration_total=0,
                              inference_count=3).type == "vad_metrics"  # fmt: skip


def test_usage_collector_is_deprecated_but_adds_up() -> None:
    with pytest.warns(DeprecationWarning, match="session.usage"):
        collector = metrics.UsageCollector()
    for n in (3, 4):
        collector(metrics.LLMMetrics(label="x", request_id="r", timestamp=0, duration=0, ttft=-1,
                                     cancelled=False, completion_tokens=n, prompt_tokens=10,
                                     total_tokens=n + 10, tokens_per_second=0))  # fmt: skip
    collector.collect(metrics.TTSMetrics(ttfb=0.1, characters_count=20, audio_duration=1.5))
    summary = collector.get_summary()
    assert summary.llm_completion_tokens == 7 and summary.llm_prompt_tokens == 20
    assert summary.tts_characters_count == 20 and summary.tts_audio_duration == 1.5
