"""No credentials in logs or errors: `--log-level debug` with a real WebSocket connection, and
provider error bodies that are huge and echo a key."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest
from fake_elevenlabs import FakeElevenLabs, FakeElevenLabsWS
from fake_gemini import FakeGemini
from loopback import TLS, Reply
from wiring import AudioSink, SentenceFeed, TextSink, TurnFeed, chain, run

from voicegraph.graph import Graph, NodeError, ProviderError, Sentence, UserTurn
from voicegraph.nodes.elevenlabs import ElevenLabsHTTPTTS, ElevenLabsTTS
from voicegraph.nodes.google import GeminiLLM
from voicegraph.nodes.llm import LLMNode
from voicegraph.nodes.tts import TTSNode
from voicegraph.runner.worker._cli import _setup_logging  # what `--log-level` runs

KEY = "test-key"  # the fakes accept only this key
GOOGLE_SHAPED = "AIza" + "Sy0123456789abcdefghijklmnopqrstuv"
QUIET = ("websockets", "httpx", "httpcore", "hpack", "asyncio")


@contextlib.contextmanager
def cli_logging(level: str) -> Iterator[None]:
    """Logging as `--log-level level` sets it up in a fresh process (no handlers yet); the
    test's own logging is put back afterwards."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET}
    for handler in handlers:
        root.removeHandler(handler)
    try:
        _setup_logging(level)
        yield
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(root_level)
        for name, value in levels.items():
            logging.getLogger(name).setLevel(value)


def ws_tts(fake: FakeElevenLabsWS, tls: TLS) -> TTSNode:
    return TTSNode(engine=ElevenLabsTTS(api_key=KEY, base_url=fake.tts_url, ssl_context=tls.client))


async def test_debug_logging_never_prints_the_api_key(
    eleven_ws: FakeElevenLabsWS, tls: TLS, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = AudioSink()
    feed = SentenceFeed([(0, Sentence("Hello there.", final=True))])
    with cli_logging("debug"):
        logging.getLogger("voicegraph.test").debug("connecting with xi-api-key: %s", KEY)
        await run(chain(feed, ws_tts(eleven_ws, tls), sink))
    assert sink.text() == "Hello there."
    assert eleven_ws.tts.sessions[0].headers["xi-api-key"] == KEY  # the key was sent...
    err = capsys.readouterr().err
    assert KEY not in err  # ...and never logged
    assert "DEBUG voicegraph.test: connecting with xi-api-key: ***" in err  # debug is on
    assert "DEBUG websockets" not in err  # network libraries stay at WARNING


async def test_a_library_debug_log_turned_on_by_hand_is_masked(
    eleven_ws: FakeElevenLabsWS, tls: TLS, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = SentenceFeed([(0, Sentence("Hello.", final=True))])
    with cli_logging("debug"):
        logging.getLogger("websockets").setLevel(logging.DEBUG)  # asked for explicitly
        await run(chain(feed, ws_tts(eleven_ws, tls), AudioSink()))
    err = capsys.readouterr().err
    assert KEY not in err
    assert "> xi-api-key: ***" in err  # websockets logged the request headers, masked


def test_exceptions_and_stacks_in_log_records_are_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = logging.getLogger("voicegraph.test")
    rejected = {"x-goog-api-key": GOOGLE_SHAPED}
    with cli_logging("info"):
        try:
            raise ValueError(f"rejected: {rejected}")
        except ValueError:
            log.exception("the call failed (Authorization: Bearer %s)", "abc.def.ghi")
        log.info("url https://example.invalid/v1?key=%s&alt=sse", GOOGLE_SHAPED)
    err = capsys.readouterr().err
    assert "ValueError: rejected: {'x-goog-api-key': '***'}" in err
    assert "Authorization: Bearer ***" in err and "abc.def.ghi" not in err
    assert "?key=***&alt=sse" in err
    assert GOOGLE_SHAPED not in err


def huge_body(key_line: str) -> bytes:
    return (f"<html><p>bad request from {key_line}</p>" + "<div>padding</div>" * 20000).encode()


def gemini_error(exc: BaseException) -> ProviderError:
    assert isinstance(exc, NodeError) and isinstance(exc.error, ProviderError), exc
    return exc.error


async def test_a_huge_gemini_error_body_is_capped_and_redacted(gemini: FakeGemini) -> None:
    gemini.plan.push(
        Reply(status=500, body=huge_body(f"x-goog-api-key: {KEY} key={GOOGLE_SHAPED}"))
    )
    g = Graph()
    feed = g.add(TurnFeed([(0, UserTurn("Hi"))], linger=0.3), name="turns")
    engine = GeminiLLM(api_key=KEY, base_url=gemini.base_url, timeout=2.0)
    llm = g.add(LLMNode(engine=engine), name="llm")
    sink = g.add(TextSink(), name="text")
    g.connect(feed.out, llm.turn)
    g.connect(llm.text, sink.inp)
    with pytest.raises(NodeError) as info:
        await run(g)
    message = str(gemini_error(info.value))
    assert "server error" in message and "x-goog-api-key: ***" in message
    assert KEY not in message and GOOGLE_SHAPED not in message
    assert len(message) < 700 and "more characters)" in message


async def test_a_huge_elevenlabs_error_body_is_capped_and_redacted(eleven: FakeElevenLabs) -> None:
    eleven.tts_plan.push(Reply(status=500, body=huge_body(f"xi-api-key={KEY}")))
    tts = TTSNode(engine=ElevenLabsHTTPTTS(api_key=KEY, base_url=eleven.base_url))
    with pytest.raises(NodeError) as info:
        await run(chain(SentenceFeed([(0, Sentence("Hi.", final=True))]), tts, AudioSink()))
    message = str(gemini_error(info.value))
    assert "server error" in message and "xi-api-key=***" in message
    assert KEY not in message
    assert len(message) < 700 and "more characters)" in message
