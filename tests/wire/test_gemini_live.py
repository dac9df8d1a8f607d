"""GeminiLive in a RealtimeNode on the wire: the real SDK over wss:// (self-signed TLS), a
loopback Live API."""

from __future__ import annotations

import json
from typing import Any

import anyio
import numpy as np
import pytest
from fake_gemini import FakeLive, audio_message
from loopback import TLS, Session
from wiring import AudioFeed, AudioSink, MarkSink, TextSink, TranscriptSink, run

from voicegraph.graph import AudioFrame, Graph, NodeError, PlayoutMark, ProviderError
from voicegraph.nodes.google import GeminiLive
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.realtime import RealtimeNode, TurnComplete
from voicegraph.nodes.tools import ToolExecutor, function_tool

SPEECH_24K = (np.sin(np.arange(2400) / 5) * 8000).astype("<i2").tobytes()  # 100 ms of "voice"


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny, 22 C in {city}"


def mic(seconds: float) -> list[tuple[float, Any]]:
    pcm = (np.sin(np.arange(320) / 7) * 3000).astype(np.int16).reshape(-1, 1)
    return [(0.004, AudioFrame(pcm, 16000, pts=i * 0.02)) for i in range(int(seconds / 0.02))]


HOST_SETTINGS = ("instructions", "tools", "end_wait", "frame_ms")


def live_node(fake: FakeLive, tls: TLS, **settings: Any) -> RealtimeNode:
    """A RealtimeNode around a GeminiLive engine: host settings go to the node, the rest to
    the engine."""
    host = {k: settings.pop(k) for k in HOST_SETTINGS if k in settings}
    host.setdefault("end_wait", 0.2)
    settings.setdefault("api_version", "v1beta")
    engine = GeminiLive(
        api_key="test-key", base_url=fake.base_url, ssl_context=tls.client, **settings
    )
    return RealtimeNode(engine=engine, **host)


def engine_of(node: RealtimeNode) -> GeminiLive:
    engine = node.engine
    assert isinstance(engine, GeminiLive)
    return engine


class Rig:
    """mic -> RealtimeNode(GeminiLive) -> (speech, text, transcripts, calls -> executor -> back)."""

    def __init__(self, live: RealtimeNode, seconds: float, *, output: bool = False) -> None:
        self.g = g = Graph()
        feed = g.add(AudioFeed(mic(seconds)), name="mic")
        self.live = g.add(live, name="live")
        self.text = g.add(TextSink(), name="text")
        self.user = g.add(TranscriptSink(), name="user")
        g.connect(feed.out, live.audio)
        g.connect(live.text, self.text.inp)
        g.connect(live.transcripts, self.user.inp)
        if output:
            self.out = g.add(AudioOutput(), name="output")
            self.marks = g.add(MarkSink(), name="marks")
            g.connect(live.speech, self.out.audio)
            g.connect(self.out.marks, self.marks.inp)
        else:
            self.speech = g.add(AudioSink(), name="speech")
            g.connect(live.speech, self.speech.inp)
        if live.tools:
            executor = g.add(ToolExecutor(tools=list(live.tools.values())), name="tools")
            g.connect(live.tool_calls, executor.calls)
            g.connect(executor.results, live.tool_results, feedback=True)
        else:
            g.connect(live.tool_calls, g.add(TranscriptSinkCalls(), name="calls").inp)


from wiring import CallSink as TranscriptSinkCalls  # noqa: E402


async def answer(ws: Any, text: str, chunks: int = 3, pace: float = 0.0) -> None:
    await ws.send(json.dumps({"serverContent": {"outputTranscription": {"text": text}}}))
    for _ in range(chunks):
        await ws.send(json.dumps(audio_message(SPEECH_24K)))
        await anyio.sleep(pace)
    await ws.send(json.dumps({"serverContent": {"turnComplete": True}}))


async def user_speaks(ws: Any, session: Session, fake: FakeLive, text: str) -> None:
    await fake.read(ws, session, until=lambda m: fake.audio_in[-1] >= 16000)  # 0.5 s heard
    for piece in text.split(" "):
        await ws.send(json.dumps({"serverContent": {"inputTranscription": {"text": piece + " "}}}))


async def test_a_spoken_turn(gemini_live: FakeLive, tls: TLS) -> None:
    async def script(ws: Any, session: Session, fake: FakeLive) -> None:
        await user_speaks(ws, session, fake, "What is the capital of France?")
        await answer(ws, "The capital of France is Paris.")
        await fake.drain(ws, session)

    gemini_live.script = script
    rig = Rig(live_node(gemini_live, tls, voice="Puck", instructions="Be brief."), 1.0)
    await run(rig.g)
    assert rig.text.text() == "The capital of France is Paris." and rig.text.finals() == 1
    finals = [t.text for t in rig.user.got if t.final]
    assert finals == ["What is the capital of France?"]
    assert any(not t.final for t in rig.user.got)
    speech = rig.speech.got
    assert sum(f.samples for f in speech if not f.final) == 3 * 2400 and speech[-1].final
    assert {f.sample_rate for f in speech} == {24000}
    setup = gemini_live.setups[0]
    assert setup["model"] == "models/gemini-live-2.5-flash-preview"
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    voice = setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice == {"voiceName": "Puck"}
    assert setup["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert "inputAudioTranscription" in setup and "outputAudioTranscription" in setup
    session = gemini_live.ws.sessions[0]
    assert session.headers["x-goog-api-key"] == "test-key"
    first_audio = next(m for m in session.received if "realtimeInput" in m)
    assert first_audio["realtimeInput"]["audio"]["mimeType"] == "audio/pcm;rate=16000"
    assert gemini_live.audio_in[0] == 50 * 320 * 2  # every frame of the mic went up


async def test_tool_call_and_response(gemini_live: FakeLive, tls: TLS) -> None:
    async def script(ws: Any, session: Session, fake: FakeLive) -> None:
        await user_speaks(ws, session, fake, "Weather in Paris?")
        call = {"id": "fc-1", "name": "get_weather", "args": {"city": "Paris"}}
        await ws.send(json.dumps({"toolCall": {"functionCalls": [call]}}))
        await fake.read(ws, session, until=lambda m: "toolResponse" in m)
        await answer(ws, "It is sunny in Paris.")
        await fake.drain(ws, session)

    gemini_live.script = script
    rig = Rig(live_node(gemini_live, tls, tools=[get_weather]), 1.0)
    await run(rig.g)
    assert gemini_live.tool_responses == [
        {
            "functionResponses": [
                {
                    "id": "fc-1",
                    "name": "get_weather",
                    "response": {"output": "Sunny, 22 C in Paris"},
                }
            ]
        }
    ]
    declaration = gemini_live.setups[0]["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "get_weather"
    assert rig.text.text() == "It is sunny in Paris."


async def test_server_interruption_cuts_playout(gemini_live: FakeLive, tls: TLS) -> None:
    async def script(ws: Any, session: Session, fake: FakeLive) -> None:
        await user_speaks(ws, session, fake, "Tell me a story")
        await ws.send(
            json.dumps({"serverContent": {"outputTranscription": {"text": "Once upon a time"}}})
        )
        for _ in range(10):  # 1 s of audio, sent at once
            await ws.send(json.dumps(audio_message(SPEECH_24K)))
        await anyio.sleep(0.25)
        await ws.send(json.dumps({"serverContent": {"interrupted": True}}))
        await fake.drain(ws, session)

    gemini_live.script = script
    rig = Rig(live_node(gemini_live, tls), 1.0, output=True)
    await run(rig.g)
    marks = [e for e in rig.marks.events if isinstance(e, PlayoutMark)]
    cut = [m for m in marks if m.interrupted]
    assert len(cut) == 1 and not any(m.final for m in marks)
    # playout stopped at the interruption (0.25 s after the audio was sent), not after 1 s:
    # the node reads the server's messages while the reply's audio waits for the output
    assert 0.1 <= cut[0].played < 0.6
    assert cut[0].text == "Once upon a time"  # the transcription sent with the played audio
    assert rig.out.played_replies[-1][2] is True


async def test_resumes_the_session_after_a_drop(gemini_live: FakeLive, tls: TLS) -> None:
    async def script(ws: Any, session: Session, fake: FakeLive) -> None:
        if len(fake.setups) == 1:
            await ws.send(
                json.dumps(
                    {"sessionResumptionUpdate": {"newHandle": "handle-1", "resumable": True}}
                )
            )
            await fake.read(ws, session, until=lambda m: fake.audio_in[-1] >= 3200)
            ws.transport.abort()  # the connection drops
            return
        await user_speaks(ws, session, fake, "Are you there?")
        await answer(ws, "Yes, still here.")
        await fake.drain(ws, session)

    gemini_live.script = script
    live = live_node(gemini_live, tls)
    rig = Rig(live, 1.5)
    await run(rig.g)
    assert engine_of(live).sessions == 2
    assert "handle" not in gemini_live.setups[0].get("sessionResumption", {})
    assert gemini_live.setups[1]["sessionResumption"] == {"handle": "handle-1"}
    assert rig.text.text() == "Yes, still here."


async def test_bad_key_is_refused_with_401(gemini_live: FakeLive, tls: TLS) -> None:
    engine = GeminiLive(
        api_key="wrong-key",
        base_url=gemini_live.base_url,
        api_version="v1beta",
        ssl_context=tls.client,
    )
    rig = Rig(RealtimeNode(engine=engine), 0.2)
    with pytest.raises(NodeError) as info:
        await run(rig.g)
    error = info.value.error
    assert isinstance(error, ProviderError) and error.status == 401
    assert "GOOGLE_API_KEY" in str(error)


async def test_close_without_handle_is_an_error(gemini_live: FakeLive, tls: TLS) -> None:
    async def script(ws: Any, session: Session, fake: FakeLive) -> None:
        await fake.read(ws, session, until=lambda m: fake.audio_in[-1] >= 3200)
        await ws.close(1011, "Internal error encountered.")

    gemini_live.script = script
    rig = Rig(live_node(gemini_live, tls), 1.0)
    with pytest.raises(NodeError) as info:
        await run(rig.g)
    error = info.value.error
    assert isinstance(error, ProviderError) and error.provider == "gemini"
    assert "1011" in str(error) and "Internal error" in str(error)


async def test_wrong_sample_rate_is_refused(gemini_live: FakeLive, tls: TLS) -> None:
    gemini_live.script = lambda ws, session, fake: fake.drain(ws, session)
    g = Graph()
    pcm = np.zeros((480, 1), np.int16)
    feed = g.add(AudioFeed([(0, AudioFrame(pcm, 24000))]), name="mic")
    live = g.add(live_node(gemini_live, tls), name="live")
    g.connect(feed.out, live.audio)
    for port, sink in (
        (live.speech, AudioSink()),
        (live.text, TextSink()),
        (live.transcripts, TranscriptSink()),
    ):
        g.connect(port, g.add(sink).inp)
    g.connect(live.tool_calls, g.add(TranscriptSinkCalls()).inp)
    with pytest.raises(NodeError, match="16000 Hz mono"):
        await run(g)


async def test_a_reply_after_the_input_ended_is_awaited(gemini_live: FakeLive, tls: TLS) -> None:
    async def script(ws: Any, session: Session, fake: FakeLive) -> None:
        await fake.read(ws, session, until=lambda m: fake.audio_in[-1] >= 0.3 * 32000)
        await anyio.sleep(0.1)  # the input has ended: the answer comes afterwards, slowly
        await answer(ws, "Here I am.", chunks=4, pace=0.15)
        await fake.drain(ws, session)

    gemini_live.script = script
    rig = Rig(live_node(gemini_live, tls), 0.3)
    await run(rig.g)
    assert rig.text.text() == "Here I am." and rig.speech.finals() == 1


async def test_a_closed_session_does_not_reconnect(gemini_live: FakeLive, tls: TLS) -> None:
    async def script(ws: Any, session: Session, fake: FakeLive) -> None:
        await answer(ws, "Hello.", chunks=1)  # receive() returns after the turn
        await fake.drain(ws, session)

    gemini_live.script = script
    engine = GeminiLive(
        api_key="test-key",
        base_url=gemini_live.base_url,
        api_version="v1beta",
        ssl_context=tls.client,
    )
    async with engine:
        session = await engine.connect("", [])
        events = aiter(session)
        with anyio.fail_after(5):
            while not isinstance(await anext(events), TurnComplete):
                pass
        await session.aclose()  # between turns: the iteration's receive() ended normally
        ended = False
        with anyio.move_on_after(1):
            async for _ in events:
                pass
            ended = True
    assert engine.sessions == 1 and len(gemini_live.setups) == 1  # no reconnection ...
    assert ended  # ... and the iteration ends
