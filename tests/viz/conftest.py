"""A recorded session shared by the viz tests: the standard voice graph on the barge-in clip.

Real Silero VAD, scripted STT/LLM/TTS (one tool call), under the virtual clock: a 12 s
conversation with a barge-in that runs in well under a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from voicegraph.nodes.agent import VoicePipeline, voice_pipeline
from voicegraph.nodes.audio import WavSource
from voicegraph.nodes.llm import LLMNode, ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tools import function_tool
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.nodes.turn import TurnDetector
from voicegraph.runner import RunMetrics, Runner, VirtualClock
from voicegraph.viz import SessionTrace

STORY = "Once upon a time there was a dragon. It learned to fly. It flew far over the sea."
USER = ["Tell me a long story about a dragon.", "Wait, stop.", "What's the weather in Paris?"]


@function_tool
def get_weather(city: str) -> str:
    """Look up the weather.

    Args:
        city: The city.
    """
    return f"Sunny in {city}"


def scripted_pipeline(sample: str, reply_path: Path) -> VoicePipeline:
    """The standard voice graph with scripted models around the real VAD."""
    weather = ScriptedReply(
        tool_calls=[ScriptedToolCall(name="get_weather", arguments={"city": "Paris"})],
        text="It is sunny in Paris.",
    )
    return voice_pipeline(
        WavSource(path=str(sample_path(sample))),
        stt=ScriptedSTT(texts=USER, delay=0.3),
        # the clip pauses 0.86 s between "Wait, stop." and the question: one turn here
        turn=TurnDetector(min_endpointing_delay=0.8),
        llm=LLMNode(engine=ScriptedLLM(replies=[STORY, weather]), tools=[get_weather]),
        tts=ScriptedTTS(latency=0.15),
        output=AudioOutput(path=str(reply_path)),
    )


@dataclass
class Session:
    pipeline: VoicePipeline
    trace: SessionTrace
    metrics: RunMetrics
    reply: Path
    user: list[str]


@pytest.fixture
def make_pipeline() -> Callable[[str, Path], VoicePipeline]:
    """``make_pipeline(sample, reply_path)``: the scripted voice graph on a bundled clip."""
    return scripted_pipeline


@pytest.fixture(scope="session")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One recorded barge-in session (scripted models, VirtualClock)."""
    reply = tmp_path_factory.mktemp("session") / "reply.wav"
    pipeline = scripted_pipeline("barge_in", reply)
    trace = SessionTrace()
    runner = Runner(pipeline.graph, clock=VirtualClock(), trace=trace)
    metrics = anyio.run(runner.run)
    return Session(pipeline, trace, metrics, reply, USER)
