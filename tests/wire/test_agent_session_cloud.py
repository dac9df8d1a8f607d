"""AgentSession with cloud nodes: swapping an embedded stage for a cloud one is one argument."""

from __future__ import annotations

from pathlib import Path

import anyio
import soundfile as sf
from fake_elevenlabs import FakeElevenLabs, FakeElevenLabsWS
from fake_gemini import FakeGemini, answer, error
from loopback import TLS

from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.audio import WavSource
from voicegraph.nodes.elevenlabs import ElevenLabsSTT, ElevenLabsTTS
from voicegraph.nodes.fallback import FallbackLLM
from voicegraph.nodes.google import GeminiLLM
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.samples import sample_path


def gemini_llm(fake: FakeGemini) -> GeminiLLM:
    return GeminiLLM(api_key="test-key", base_url=fake.base_url, api_version="v1beta", timeout=2.0)


async def test_voice_session_on_gemini_and_elevenlabs(
    gemini: FakeGemini,
    eleven: FakeElevenLabs,
    eleven_ws: FakeElevenLabsWS,
    tls: TLS,
    tmp_path: Path,
) -> None:
    """The standard voice graph (Silero VAD, turn detector) with STT, LLM and TTS in the cloud."""
    audio, rate = sf.read(sample_path("question"), dtype="int16")
    clip = tmp_path / "question.wav"  # the question and 0.9 s of silence after it
    sf.write(clip, audio[int(0.4 * rate) : int(2.9 * rate)], rate)
    gemini.plan.push(answer("Paris."))
    output = AudioOutput()
    async with AgentSession(
        stt=ElevenLabsSTT(api_key="test-key", base_url=eleven.base_url),
        llm=gemini_llm(gemini),
        tts=ElevenLabsTTS(api_key="test-key", base_url=eleven_ws.tts_url, ssl_context=tls.client),
    ) as session:
        await session.start(
            Agent(instructions="Answer briefly."),
            audio=WavSource(path=clip),
            output=output,
        )
        with anyio.fail_after(15):
            await session.wait()
    texts = [(m.role, m.text) for m in session.history.messages if m.role != "system"]
    assert texts == [
        ("user", "what is the capital of france"),  # ElevenLabs Scribe (loopback)
        ("assistant", "Paris."),  # Gemini (loopback)
    ]
    assert output.played_replies[-1][0] == "Paris."  # spoken by ElevenLabs (loopback)
    body = gemini.requests[0].json()
    assert body["systemInstruction"]["parts"][0]["text"].startswith("Answer briefly.")


async def test_text_session_falls_back_from_gemini(gemini: FakeGemini) -> None:
    gemini.plan.push(error(503, "The model is overloaded.", "UNAVAILABLE"))
    llm = FallbackLLM(providers=[gemini_llm(gemini), ScriptedLLM(replies=["Paris, of course."])])
    async with AgentSession(llm=llm) as session:
        await session.start(Agent(instructions="Answer briefly."))
        result = await session.run(user_input="What is the capital of France?")
    result.expect.next_event().is_message(role="assistant")
    assert session.history.messages[-1].text == "Paris, of course."
    assert not llm.status[0].available and "HTTP 503" in llm.status[0].last_error
