"""ElevenLabs TTS on the wire: the real SDK / WebSocket client against loopback fakes."""

from __future__ import annotations

import anyio
import pytest
from fake_elevenlabs import SECONDS_PER_CHAR, FakeElevenLabs, FakeElevenLabsWS, error_body
from loopback import TLS, Reply
from wiring import AudioSink, MarkSink, SentenceFeed, chain, run

from voicegraph.graph import (
    NodeError,
    PlayoutMark,
    ProviderError,
    ProviderTimeoutError,
    Sentence,
)
from voicegraph.nodes.elevenlabs import ElevenLabsHTTPTTS, ElevenLabsTTS
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.tts import TTSNode
from voicegraph.runner import Runner

REPLY = [Sentence("Hello there."), Sentence("How are you today?", final=True)]


def http_tts(fake: FakeElevenLabs, **settings: object) -> TTSNode:
    return TTSNode(engine=ElevenLabsHTTPTTS(api_key="test-key", base_url=fake.base_url, **settings))


def ws_tts(fake: FakeElevenLabsWS, tls: TLS, **settings: object) -> TTSNode:
    engine = ElevenLabsTTS(
        api_key="test-key", base_url=fake.tts_url, ssl_context=tls.client, **settings
    )
    return TTSNode(engine=engine)


def provider_error(exc: BaseException) -> ProviderError:
    assert isinstance(exc, NodeError)
    assert isinstance(exc.error, ProviderError)
    return exc.error


# --------------------------------------------------------------------------- HTTP streaming


async def test_http_streams_word_tagged_frames(eleven: FakeElevenLabs) -> None:
    sink = AudioSink()
    await run(
        chain(SentenceFeed([(0, s) for s in REPLY]), http_tts(eleven, sample_rate=16000), sink)
    )
    assert sink.text() == "Hello there. How are you today?"
    assert sink.finals() == 1 and sink.got[-1].final
    assert all(f.sample_rate == 16000 for f in sink.got)
    # each word's frames add up to its duration: alignment gives exact per-word timing
    hello = [f for f in sink.got if f.text == "Hello"]
    assert sum(f.duration for f in hello) == pytest.approx(hello[0].text_duration)
    assert hello[0].text_duration == pytest.approx(6 * SECONDS_PER_CHAR)  # "Hello" + space
    request = eleven.requests[0]
    assert request.path == "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb/stream/with-timestamps"
    assert request.query["output_format"] == ["pcm_16000"]
    assert request.json()["model_id"] == "eleven_flash_v2_5"
    assert [r.json()["text"] for r in eleven.requests] == ["Hello there.", "How are you today?"]


@pytest.mark.parametrize(
    ("reply", "status", "words"),
    [
        (Reply(status=401, body=error_body(401, "Invalid API key")), 401, "ELEVEN_API_KEY"),
        (
            Reply(status=429, body=error_body(429, "Too many"), headers={"Retry-After": "3"}),
            429,
            "retry after 3 s",
        ),
        (Reply(status=500, body=b"<html>boom</html>"), 500, "server error"),
        (Reply(chunks=[b"{not json\n"]), 200, "no audio"),
        (Reply(chunks=[{"audio_base64": "!!notbase64", "alignment": None}]), None, "base64"),
    ],
    ids=["401", "429", "500", "malformed", "bad-audio"],
)
async def test_http_errors_name_provider_and_status(
    eleven: FakeElevenLabs, reply: Reply, status: int | None, words: str
) -> None:
    eleven.tts_plan.push(reply)
    with pytest.raises(NodeError) as info:
        await run(chain(SentenceFeed([(0, REPLY[1])]), http_tts(eleven), AudioSink()))
    error = provider_error(info.value)
    assert error.provider == "elevenlabs" and error.status == status
    assert words in str(error)
    if status == 429:
        assert getattr(error, "retry_after", None) == 3.0


async def test_http_slow_first_byte_times_out(eleven: FakeElevenLabs) -> None:
    eleven.tts_plan.push(Reply(first_delay=2.0))
    with pytest.raises(NodeError) as info:
        await run(chain(SentenceFeed([(0, REPLY[1])]), http_tts(eleven, timeout=0.3), AudioSink()))
    assert isinstance(info.value.error, ProviderTimeoutError)
    assert "elevenlabs" in str(info.value.error)


async def test_http_disconnect_mid_stream_is_an_error(eleven: FakeElevenLabs) -> None:
    eleven.tts_plan.push(Reply(cut_after=2))
    with pytest.raises(NodeError) as info:
        await run(chain(SentenceFeed([(0, REPLY[1])]), http_tts(eleven), AudioSink()))
    assert "mid-stream" in str(provider_error(info.value))


async def test_http_interrupt_closes_the_stream(eleven: FakeElevenLabs) -> None:
    eleven.tts_plan.push(Reply(delay=0.2))  # a slow stream: one word every 200 ms
    sink = AudioSink()
    feed = SentenceFeed(
        [(0, Sentence("one two three four five six seven eight", final=True)), (0.3, "interrupt")],
        linger=0.2,
    )
    await run(chain(feed, http_tts(eleven), sink))
    request = eleven.requests[0]
    with anyio.fail_after(2):
        await request.client_closed.wait()
    assert request.sent_chunks < 8  # the server saw the hang-up mid-stream
    assert not any(f.final for f in sink.got)


# --------------------------------------------------------------------------- WebSocket


async def test_ws_streams_a_reply_in_one_context(eleven_ws: FakeElevenLabsWS, tls: TLS) -> None:
    sink = AudioSink()
    await run(chain(SentenceFeed([(0, s) for s in REPLY]), ws_tts(eleven_ws, tls), sink))
    assert sink.text() == "Hello there. How are you today?"
    assert sink.finals() == 1 and sink.got[-1].final
    session = eleven_ws.tts.sessions[0]
    assert session.path == "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb/multi-stream-input"
    assert session.query["sync_alignment"] == ["true"]
    assert session.headers["xi-api-key"] == "test-key"
    sent = session.received
    assert sent[0]["text"] == " " and sent[0]["context_id"] == "reply-1"
    assert [m["text"] for m in sent[1:3]] == ["Hello there. ", "How are you today? "]
    assert all(m.get("flush") for m in sent[1:3])
    assert sent[3] == {"context_id": "reply-1", "close_context": True}


async def test_ws_two_replies_share_the_connection(eleven_ws: FakeElevenLabsWS, tls: TLS) -> None:
    sink = AudioSink()
    script = [
        (0, Sentence("First reply.", final=True)),
        (0.4, Sentence("Second reply.", final=True)),
    ]
    await run(chain(SentenceFeed(script), ws_tts(eleven_ws, tls), sink))
    assert sink.finals() == 2
    assert sink.text() == "First reply. Second reply."
    assert len(eleven_ws.tts.sessions) == 1
    contexts = {m["context_id"] for m in eleven_ws.tts.sessions[0].received if "context_id" in m}
    assert contexts == {"reply-1", "reply-2"}


async def test_ws_barge_in_truncates_to_the_words_played(
    eleven_ws: FakeElevenLabsWS, tls: TLS
) -> None:
    """Alignment → word-tagged frames → AudioOutput's interrupted mark names the words heard."""
    text = "one two three four five six"
    eleven_ws.tts_plan.push(Reply(delay=0.02))
    feed = SentenceFeed([(0, Sentence(text, final=True)), (0.55, "interrupt")], linger=0.3)
    tts, out, marks = ws_tts(eleven_ws, tls), AudioOutput(), MarkSink()
    g = chain(feed, tts, out, marks)
    runner = Runner(g)
    with anyio.fail_after(10):
        await runner.run()
    cut = [e for e in marks.events if isinstance(e, PlayoutMark) and e.interrupted]
    assert len(cut) == 1
    heard = cut[0].text.split()
    # 0.55 s at 40 ms per character: "one " (0.16 s) + "two " (0.16 s) fully played, "three"
    # (0.24 s) started but not finished: exactly two words were heard.
    assert heard == ["one", "two"], cut[0]
    session = eleven_ws.tts.sessions[0]
    with anyio.fail_after(2):
        while "reply-1" not in eleven_ws.closed_contexts:
            await anyio.sleep(0.01)
    assert session.received[-1] in (
        {"context_id": "reply-1", "close_context": True},
        {"close_socket": True},
    )


@pytest.mark.parametrize(
    ("reply", "status", "words"),
    [
        (Reply(status=401, body=error_body(401, "Invalid API key")), 401, "ELEVEN_API_KEY"),
        (
            Reply(status=429, body=error_body(429, "busy"), headers={"Retry-After": "2"}),
            429,
            "retry after 2 s",
        ),
        (Reply(extra={"close_code": 1011, "close_reason": "internal error"}), 500, "1011"),
        (Reply(extra={"malformed": True}), None, "malformed"),
        (Reply(cut_after=1), None, "without a close frame"),
    ],
    ids=["401", "429", "close-1011", "malformed", "disconnect"],
)
async def test_ws_errors_name_provider_and_status(
    eleven_ws: FakeElevenLabsWS, tls: TLS, reply: Reply, status: int | None, words: str
) -> None:
    eleven_ws.tts_plan.push(reply)
    with pytest.raises(NodeError) as info:
        await run(chain(SentenceFeed([(0, s) for s in REPLY]), ws_tts(eleven_ws, tls), AudioSink()))
    error = provider_error(info.value)
    assert error.provider == "elevenlabs" and error.status == status, error
    assert words in str(error)


async def test_ws_slow_audio_times_out(eleven_ws: FakeElevenLabsWS, tls: TLS) -> None:
    eleven_ws.tts_plan.push(Reply(first_delay=2.0))
    with pytest.raises(NodeError) as info:
        await run(
            chain(SentenceFeed([(0, REPLY[1])]), ws_tts(eleven_ws, tls, timeout=0.3), AudioSink())
        )
    assert isinstance(info.value.error, ProviderTimeoutError)


async def test_synthesize_serves_the_fallback_over_http(eleven: FakeElevenLabs) -> None:
    """Every ElevenLabs TTS node (the WebSocket one too) synthesizes whole sentences over HTTP."""
    tts = ElevenLabsTTS(api_key="test-key", base_url=eleven.base_url, sample_rate=16000)
    async with tts:
        [audio] = await tts.synthesize("Hello there.")
    assert audio.dtype.name == "float32" and len(audio) == round(12 * SECONDS_PER_CHAR * 16000)
    assert eleven.requests[0].path.endswith("/stream/with-timestamps")


async def test_ws_reply_after_a_barge_in_reuses_the_connection(
    eleven_ws: FakeElevenLabsWS, tls: TLS
) -> None:
    eleven_ws.tts_plan.push(Reply(delay=0.05))
    first = Sentence("one two three four five six seven eight", final=True)
    second = Sentence("Fresh answer.", final=True)
    feed = SentenceFeed([(0, first), (0.15, "interrupt"), (0.05, second)], linger=0.2)
    sink = AudioSink()
    await run(chain(feed, ws_tts(eleven_ws, tls), sink))
    late = [f for f in sink.got if f.epoch > 0]
    assert (
        " ".join(f.text for f in late if f.offset == 0.0) == "Fresh answer."
    )  # nothing of the cut reply
    assert late[-1].final and sink.finals() == 1
    assert len(eleven_ws.tts.sessions) == 1 and eleven_ws.closed_contexts[0] == "reply-1"
