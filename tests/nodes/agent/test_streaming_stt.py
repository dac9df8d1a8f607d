"""The session's voice graph feeds a streaming STT engine the live audio (``vad.audio_out``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from agent_helpers import Voice, timeline

from voicegraph.graph import SpeechSegment
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.stt import STTEngine, STTStream
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.runner import VirtualClock


class LiveSession(STTStream):
    def __init__(self) -> None:
        self.samples = 0

    async def push(self, pcm: npt.NDArray[np.int16]) -> None:
        self.samples += len(pcm)

    async def commit(self) -> str:
        heard, self.samples = self.samples, 0
        return "live words" if heard else ""


class Live(STTEngine):
    """Streams: the final words come from the live session, never from ``transcribe``."""

    streaming = True

    async def stream(self) -> STTStream:
        return LiveSession()

    async def transcribe(self, segment: SpeechSegment) -> str:
        return "batch words"


async def _session(voice: Voice, stt: STTEngine) -> AgentSession[Any]:
    session: AgentSession[Any] = AgentSession(
        stt=stt, llm=ScriptedLLM(replies=["Hi."]), tts=ScriptedTTS(), clock=VirtualClock()
    )
    source = MemorySource(pcm=voice.pcm([(0.3, 1.0)], 3.0), sample_rate=16000, realtime=True)
    await session.start(Agent(instructions="x"), audio=source, output=AudioOutput())
    await session.wait()
    return session


async def test_a_streaming_stt_engine_gets_the_live_audio(voice: Voice) -> None:
    session = await _session(voice, Live())
    assert [d for _, d in timeline(session, "user_input_transcribed")] == ["transcribed:live words"]
    assert session.pipeline is not None
    vad, stt = session.pipeline.vad, session.pipeline.stt
    live = [e for e in session.pipeline.graph.edges if e.dst is stt.audio]
    assert [e.src for e in live] == [vad.audio_out]


async def test_a_batch_stt_engine_ignores_the_live_audio(voice: Voice) -> None:
    class Batch(Live):
        streaming = False

    session = await _session(voice, Batch())
    assert [d for _, d in timeline(session, "user_input_transcribed")] == [
        "transcribed:batch words"
    ]
