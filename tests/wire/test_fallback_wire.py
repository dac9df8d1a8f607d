"""Fallback on the wire: a failing cloud provider (loopback) hands over to the embedded model."""

from __future__ import annotations

import time

import anyio
import soundfile as sf
from fake_elevenlabs import FakeElevenLabs, error_body
from fake_gemini import FakeGemini, answer, error
from loopback import Reply
from wiring import (
    AudioSink,
    SegmentFeed,
    SentenceFeed,
    TextSink,
    TranscriptSink,
    TurnFeed,
    chain,
    run,
)

from voicegraph.graph import Sentence, SpeechSegment, UserTurn
from voicegraph.nodes.elevenlabs import ElevenLabsHTTPTTS, ElevenLabsSTT
from voicegraph.nodes.fallback import FallbackLLM, FallbackSTT, FallbackTTS
from voicegraph.nodes.google import GeminiLLM
from voicegraph.nodes.llm import LlamaLLM, LLMNode
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.stt import STTNode, WhisperSTT
from voicegraph.nodes.tts import HibariTTS, TTSNode


def gemini_llm(fake: FakeGemini) -> GeminiLLM:
    return GeminiLLM(api_key="test-key", base_url=fake.base_url, api_version="v1beta", timeout=2.0)


async def test_gemini_rate_limited_falls_back_to_llama_then_recovers(gemini: FakeGemini) -> None:
    gemini.plan.push(
        error(429, "Quota exceeded.", "RESOURCE_EXHAUSTED", headers={"Retry-After": "1"})
    )
    engine = FallbackLLM(
        providers=[gemini_llm(gemini), LlamaLLM(max_tokens=24)], retry_interval=0.05
    )
    llm = LLMNode(engine=engine, instructions="Answer in one short sentence.")
    sink = TextSink()
    script = [(0, UserTurn("What is the capital of France?")), (1.6, UserTurn("And of Italy?"))]
    await run(chain(TurnFeed(script, linger=0.2), llm, sink), timeout=20)
    first, second = _replies(sink)
    assert first.strip(), "the embedded model answered the first turn"
    assert second == "The capital of France is Paris."  # Gemini again (the fake's answer)
    # the background retry honoured Retry-After (1 s), not the 50 ms backoff
    sent = [r.received_at for r in gemini.requests]
    assert len(sent) == 3  # the failed turn, the background retry, the second turn
    assert sent[1] - sent[0] >= 1.0
    assert [(c.provider, c.available) for c in engine.changes] == [(0, False), (0, True)]


async def test_gemini_dropping_mid_reply_is_continued_by_llama(gemini: FakeGemini) -> None:
    gemini.plan.push(answer("The capital of France is Paris.", cut_after=3))
    engine = FallbackLLM(providers=[gemini_llm(gemini), LlamaLLM(max_tokens=16)], retry_interval=30)
    llm = LLMNode(engine=engine)
    sink = TextSink()
    await run(
        chain(TurnFeed([(0, UserTurn("What is the capital of France?"))], linger=0.2), llm, sink),
        timeout=20,
    )
    reply = _replies(sink)[0]
    assert reply.startswith("The capital of ")  # what Gemini said stays...
    assert len(reply) > len("The capital of ")  # ...and the embedded model went on
    assert llm.chat.last_assistant is not None and llm.chat.last_assistant.text == reply
    assert not engine.status[0].available


async def test_elevenlabs_failing_falls_back_to_hibari(eleven: FakeElevenLabs) -> None:
    eleven.tts_plan.push(
        Reply(),  # sentence 1: ElevenLabs
        Reply(status=500, body=error_body(500, "internal")),  # sentence 2: fails over
    )
    engine = FallbackTTS(
        providers=[ElevenLabsHTTPTTS(api_key="test-key", base_url=eleven.base_url), HibariTTS()],
        retry_interval=30,
    )
    tts = TTSNode(engine=engine)
    sink = AudioSink()
    sentences = [Sentence("Hello there."), Sentence("How are you today?", final=True)]
    await run(chain(SentenceFeed([(0, s) for s in sentences]), tts, sink), timeout=20)
    spoken = [f.text for f in sink.got if f.offset == 0.0]
    assert spoken == ["Hello there.", "How are you today?"]  # every sentence, once
    assert {f.sample_rate for f in sink.got} == {24000}
    assert sink.got[-1].final
    assert [c.available for c in engine.changes] == [False]


async def test_elevenlabs_stt_timing_out_falls_back_to_whisper(eleven: FakeElevenLabs) -> None:
    eleven.stt_plan.push(Reply(first_delay=3.0))
    pcm, rate = sf.read(sample_path("question"), dtype="int16")
    segment = SpeechSegment(pcm.reshape(-1, 1), rate, speech_start=0.0, speech_end=len(pcm) / rate)
    engine = FallbackSTT(
        providers=[ElevenLabsSTT(api_key="test-key", base_url=eleven.base_url), WhisperSTT()],
        attempt_timeout=0.5,
        retry_interval=30,
    )
    stt = STTNode(engine=engine)
    sink = TranscriptSink()
    started = time.monotonic()
    await run(chain(SegmentFeed([(0, segment)]), stt, sink), timeout=20)
    assert time.monotonic() - started < 10
    [transcript] = sink.got
    assert "capital of france" in transcript.text.lower()
    assert "no answer within 0.5 s" in engine.status[0].last_error
    with anyio.fail_after(2):
        await eleven.requests[0].client_closed.wait()  # the slow request was abandoned


def _replies(sink: TextSink) -> list[str]:
    out, current = [], ""
    for frame in sink.got:
        current += frame.text
        if frame.final:
            out.append(current)
            current = ""
    return out
