"""ElevenLabs STT engines on the wire, hosted by STTNode: Scribe batch (REST) and realtime
(WebSocket) with the real SDK."""

from __future__ import annotations

from pathlib import Path

import anyio
import numpy as np
import pytest
from fake_elevenlabs import FakeElevenLabs, FakeElevenLabsWS, error_body, stt_result
from loopback import Reply
from wiring import SegmentFeed, TranscriptSink, chain, run

from voicegraph.graph import (
    AudioFrame,
    Event,
    Graph,
    Node,
    NodeError,
    Out,
    ProviderError,
    ProviderTimeoutError,
    SpeechSegment,
    SpeechStarted,
    SpeechStopped,
)
from voicegraph.nodes.elevenlabs import ElevenLabsRealtimeSTT, ElevenLabsSTT
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.stt import STTNode

RATE = 16000


def segment(seconds: float = 1.0, start: float = 0.5) -> SpeechSegment:
    pcm = (np.sin(np.arange(int(seconds * RATE)) / 8) * 3000).astype(np.int16).reshape(-1, 1)
    return SpeechSegment(pcm, RATE, pts=start, speech_start=start, speech_end=start + seconds)


def frames(seconds: float, start: float = 0.0) -> list[AudioFrame]:
    n = int(seconds / 0.02)
    pcm = (np.sin(np.arange(320) / 8) * 3000).astype(np.int16).reshape(-1, 1)
    return [AudioFrame(pcm, RATE, pts=start + i * 0.02) for i in range(n)]


def provider_error(exc: BaseException) -> ProviderError:
    assert isinstance(exc, NodeError), exc
    assert isinstance(exc.error, ProviderError), exc.error
    return exc.error


# --------------------------------------------------------------------------- batch


async def test_batch_transcribes_each_segment(eleven: FakeElevenLabs) -> None:
    engine = ElevenLabsSTT(api_key="test-key", base_url=eleven.base_url, language="en")
    stt = STTNode(engine=engine)
    sink = TranscriptSink()
    await run(chain(SegmentFeed([(0, segment())]), stt, sink))
    [transcript] = sink.got
    assert transcript.text == "what is the capital of france" and transcript.final
    assert (transcript.start, transcript.end) == (0.5, 1.5)
    request = eleven.requests[0]
    assert request.path == "/v1/speech-to-text"
    assert b'name="model_id"\r\n\r\nscribe_v1' in request.body
    assert b'name="file_format"\r\n\r\npcm_s16le_16' in request.body
    assert b'name="language_code"\r\n\r\nen' in request.body
    assert len(stt.latencies) == 1


async def test_batch_transcribes_a_file(eleven: FakeElevenLabs) -> None:
    eleven.stt_plan.push(Reply(body=stt_result("what is the capital of france")))
    stt = ElevenLabsSTT(api_key="test-key", base_url=eleven.base_url)
    async with stt:
        text = await stt.transcribe_file(sample_path("question"))
    assert text == "what is the capital of france"
    assert Path(sample_path("question")).read_bytes()[:4] in eleven.requests[0].body


@pytest.mark.parametrize(
    ("reply", "status", "words"),
    [
        (Reply(status=401, body=error_body(401, "Invalid API key")), 401, "ELEVEN_API_KEY"),
        (
            Reply(status=429, body=error_body(429, "slow down"), headers={"Retry-After": "5"}),
            429,
            "retry after 5 s",
        ),
        (Reply(status=500, body=b"<html>oops</html>"), 500, "server error"),
        (Reply(body=b"{not json"), None, "malformed"),
    ],
    ids=["401", "429", "500", "malformed"],
)
async def test_batch_errors(
    eleven: FakeElevenLabs, reply: Reply, status: int | None, words: str
) -> None:
    eleven.stt_plan.push(reply)
    stt = STTNode(engine=ElevenLabsSTT(api_key="test-key", base_url=eleven.base_url))
    with pytest.raises(NodeError) as info:
        await run(chain(SegmentFeed([(0, segment())]), stt, TranscriptSink()))
    error = provider_error(info.value)
    assert error.provider == "elevenlabs" and error.status == status, error
    assert words in str(error)


async def test_batch_timeout(eleven: FakeElevenLabs) -> None:
    eleven.stt_plan.push(Reply(body=stt_result("late"), first_delay=2.0))
    stt = STTNode(engine=ElevenLabsSTT(api_key="test-key", base_url=eleven.base_url, timeout=0.3))
    with pytest.raises(NodeError) as info:
        await run(chain(SegmentFeed([(0, segment())]), stt, TranscriptSink()))
    assert isinstance(info.value.error, ProviderTimeoutError)


# --------------------------------------------------------------------------- realtime


class FakeVAD(Node):
    """What a VAD sends: the script on ``audio_out`` (frames and events), then ``segment``
    on ``segments`` (both outputs get the events, as a VADNode's do)."""

    audio_out: Out[AudioFrame]
    segments: Out[SpeechSegment]

    def __init__(self, script: list[tuple[float, object]], segment: SpeechSegment) -> None:
        super().__init__()
        self.script, self.segment = script, segment

    async def run(self) -> None:
        for delay, item in self.script:
            await self.clock.sleep(delay)
            if isinstance(item, AudioFrame):
                await self.emit(self.audio_out, item)
            else:
                assert isinstance(item, Event)
                await self.send_event(item)  # once, on both outputs, as VADNode does
        await self.emit(self.segments, self.segment)
        await self.clock.sleep(0.2)


def streaming(
    fake: FakeElevenLabsWS, script: list[tuple[float, object]], **settings: object
) -> tuple[Graph, TranscriptSink]:
    g = Graph()
    vad = g.add(FakeVAD(script, segment(2.0, 0.0)), name="vad")
    engine = ElevenLabsRealtimeSTT(api_key="test-key", base_url=fake.stt_url, **settings)
    stt = g.add(STTNode(engine=engine), name="stt")
    sink = g.add(TranscriptSink(), name="transcripts")
    g.connect(vad.audio_out, stt.audio)
    g.connect(vad.segments, stt.speech)
    g.connect(stt.transcripts, sink.inp)
    return g, sink


async def test_realtime_streams_interim_then_final(eleven_ws: FakeElevenLabsWS) -> None:
    script: list[tuple[float, object]] = [(0, SpeechStarted(0.0))]
    script += [(0.001, f) for f in frames(2.0)]
    script += [(0, SpeechStopped(2.0, 2.0))]
    g, sink = streaming(eleven_ws, script)
    await run(g)
    interim = [t for t in sink.got if not t.final]
    final = [t for t in sink.got if t.final]
    assert [t.text for t in interim] == ["what", "what is", "what is the", "what is the capital"]
    assert [(t.text, t.start, t.end) for t in final] == [
        ("what is the capital of france", 0.0, 2.0)
    ]
    # the VAD events still reach the turn detector
    assert [type(e) for e in sink.events] == [SpeechStarted, SpeechStopped]
    session = eleven_ws.stt.sessions[0]
    assert session.path == "/v1/speech-to-text/realtime"
    assert session.query["model_id"] == ["scribe_v2_realtime"]
    assert session.query["commit_strategy"] == ["manual"]
    assert session.headers["xi-api-key"] == "test-key"
    assert eleven_ws.stt_audio_bytes == 2 * RATE * 2
    assert session.received[-1]["commit"] is True


async def test_realtime_per_segment_is_a_drop_in(eleven_ws: FakeElevenLabsWS) -> None:
    eleven_ws.stt_plan.push(Reply(extra={"transcripts": ["hello there", "second one"]}))
    stt = STTNode(engine=ElevenLabsRealtimeSTT(api_key="test-key", base_url=eleven_ws.stt_url))
    sink = TranscriptSink()
    await run(chain(SegmentFeed([(0, segment(1.0, 0.5)), (0.05, segment(0.5, 3.0))]), stt, sink))
    assert [(t.text, t.final, t.start) for t in sink.got] == [
        ("hello there", True, 0.5),
        ("second one", True, 3.0),
    ]
    assert len(eleven_ws.stt.sessions) == 1  # one connection for the session


@pytest.mark.parametrize(
    ("reply", "status", "words"),
    [
        (Reply(status=401, body=error_body(401, "Invalid API key")), 401, "ELEVEN_API_KEY"),
        (
            Reply(status=429, body=error_body(429, "busy"), headers={"Retry-After": "4"}),
            429,
            "retry after 4 s",
        ),
        (Reply(extra={"error_type": "rate_limited"}), 429, "rate_limited"),
        (Reply(extra={"error_type": "auth_error"}), 401, "auth_error"),
        (Reply(extra={"malformed": True}), None, "malformed"),
        (Reply(cut_after=0, extra={"transcripts": ["one"]}), None, "disconnect"),
    ],
    ids=["401", "429", "rate-limited-message", "auth-error-message", "malformed", "disconnect"],
)
async def test_realtime_errors(
    eleven_ws: FakeElevenLabsWS, reply: Reply, status: int | None, words: str
) -> None:
    eleven_ws.stt_plan.push(reply)
    engine = ElevenLabsRealtimeSTT(api_key="test-key", base_url=eleven_ws.stt_url, timeout=1.0)
    stt = STTNode(engine=engine)
    script = [(0, segment()), (0.05, segment())]
    with pytest.raises(NodeError) as info:
        await run(chain(SegmentFeed(script), stt, TranscriptSink()))
    error = provider_error(info.value)
    assert error.provider == "elevenlabs" and error.status == status, error
    assert words in str(error)


async def test_realtime_commit_timeout(eleven_ws: FakeElevenLabsWS) -> None:
    eleven_ws.stt_plan.push(Reply(first_delay=2.0, extra={"transcripts": ["late"]}))
    engine = ElevenLabsRealtimeSTT(api_key="test-key", base_url=eleven_ws.stt_url, timeout=0.3)
    stt = STTNode(engine=engine)
    with pytest.raises(NodeError) as info:
        await run(chain(SegmentFeed([(0, segment())]), stt, TranscriptSink()))
    assert isinstance(info.value.error, ProviderTimeoutError)


async def closed_by_client(fake: FakeElevenLabsWS) -> list[int | None]:
    """The close codes of the STT sessions, each awaited for up to 2 s (a connection the
    engine dropped without closing stays open: the wait times out, ``None``)."""
    codes: list[int | None] = []
    for session in fake.stt.sessions:
        with anyio.move_on_after(2):
            await session.closed.wait()
        codes.append(session.close_code if session.closed.is_set() else None)
    return codes


@pytest.mark.parametrize("mode", ["segment", "streaming"])
async def test_realtime_a_failed_connection_is_closed(
    eleven_ws: FakeElevenLabsWS, mode: str
) -> None:
    eleven_ws.stt_plan.push(Reply(extra={"error_type": "rate_limited"}))
    if mode == "segment":  # the error answers the commit
        engine = ElevenLabsRealtimeSTT(api_key="test-key", base_url=eleven_ws.stt_url)
        graph = chain(SegmentFeed([(0, segment())]), STTNode(engine=engine), TranscriptSink())
    else:  # the error arrives among the interim transcripts
        script: list[tuple[float, object]] = [(0, SpeechStarted(0.0))]
        script += [(0.005, f) for f in frames(0.5)]
        graph, _ = streaming(eleven_ws, script)
    with pytest.raises(NodeError) as info:
        await run(graph)
    assert "rate_limited" in str(provider_error(info.value))
    assert await closed_by_client(eleven_ws) == [1000]


async def test_realtime_a_failed_send_closes_the_connection(
    eleven_ws: FakeElevenLabsWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    from elevenlabs.realtime.connection import RealtimeConnection

    async def broken_send(self: RealtimeConnection, data: dict[str, object]) -> None:
        raise OSError("broken pipe")

    monkeypatch.setattr(RealtimeConnection, "send", broken_send)
    async with ElevenLabsRealtimeSTT(api_key="test-key", base_url=eleven_ws.stt_url) as engine:
        with pytest.raises(ProviderError, match="broken pipe"):
            await engine.transcribe(segment())
        # the engine is still open: the failure itself closed the connection
        assert await closed_by_client(eleven_ws) == [1000]
