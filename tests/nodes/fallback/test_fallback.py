"""Fallback nodes with scripted providers on a virtual clock: failover, backoff, Retry-After."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import numpy as np
import pytest

from voicegraph.graph import (
    ConfigError,
    Graph,
    In,
    LLMText,
    Node,
    NodeError,
    Out,
    ProviderError,
    Sentence,
    SpeechAudio,
    SpeechSegment,
    Transcript,
    UserTurn,
)
from voicegraph.nodes.fallback import CONTINUE, FallbackLLM, FallbackSTT, FallbackTTS
from voicegraph.nodes.llm import ChatContext, ChatMessage, LLMChunk, LLMNode, ScriptedLLM
from voicegraph.nodes.stt import ScriptedSTT, STTNode
from voicegraph.nodes.tools import FunctionTool
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.runner import Runner, VirtualClock


def rate_limited(retry_after: float | None = None) -> ProviderError:
    error = ProviderError("cloud", "rate limit exceeded", status=429)
    error.retry_after = retry_after  # type: ignore[attr-defined]
    return error


class FlakyLLM(LLMNode):
    """Plays one behaviour per call: a reply text, an exception, ("hang",), ("cut", n, text)."""

    def __init__(self, behaviours: Sequence[Any], default: Any = "fine") -> None:
        super().__init__(instructions="")
        self.behaviours = list(behaviours)
        self.default = default
        self.calls: list[tuple[float, ChatContext]] = []

    async def generate(
        self, chat: ChatContext, tools: list[FunctionTool]
    ) -> AsyncIterator[LLMChunk]:
        self.calls.append((self.clock.now(), chat))
        behaviour = self.behaviours.pop(0) if self.behaviours else self.default
        await self.clock.sleep(0.1)
        if isinstance(behaviour, BaseException):
            raise behaviour
        if behaviour == ("hang",):
            await self.clock.sleep(3600)
        cut = None
        if isinstance(behaviour, tuple) and behaviour[0] == "cut":
            _, cut, behaviour = behaviour
        for index, word in enumerate(re.findall(r"\s*\S+", behaviour)):
            if index == cut:
                raise ProviderError("cloud", "the connection dropped mid-stream")
            yield LLMChunk(text=word)
            await self.clock.sleep(0.01)


class Turns(Node):
    out: Out[UserTurn]

    def __init__(self, turns: list[tuple[float, str]], linger: float = 60.0) -> None:
        super().__init__()
        self.turns = turns
        self.linger = linger

    async def run(self) -> None:
        for at, text in self.turns:
            await self.clock.sleep_until(at)
            await self.emit(self.out, UserTurn(text))
        await self.clock.sleep(self.linger)


class Replies(Node):
    text: In[LLMText]

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[str] = []
        self.current = ""

    async def on_text(self, frame: LLMText) -> None:
        self.current += frame.text
        if frame.final:
            self.replies.append(self.current)
            self.current = ""


async def converse(llm: LLMNode, turns: list[tuple[float, str]], linger: float = 60.0) -> Replies:
    g = Graph()
    feed = g.add(Turns(turns, linger), name="turns")
    g.add(llm, name="llm")
    sink = g.add(Replies(), name="replies")
    g.connect(feed.out, llm.turn)
    g.connect(llm.text, sink.text)
    with anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()
    return sink


# --------------------------------------------------------------------------- LLM


async def test_llm_switches_to_the_backup_and_recovers_after_retry_after() -> None:
    primary = FlakyLLM([rate_limited(retry_after=3.0)], default="Primary answer.")
    backup = FlakyLLM([], default="Backup answer.")
    llm = FallbackLLM(providers=[primary, backup])
    replies = await converse(llm, [(0.0, "Hi"), (10.0, "Again")])
    assert replies.replies == ["Backup answer.", "Primary answer."]
    # the first call failed at t=0; the background retry waited for Retry-After (3 s), not
    # the 0.5 s backoff, and succeeded, so the second turn went to the primary again
    times = [t for t, _ in primary.calls]
    assert times[0] == pytest.approx(0.0)
    assert times[1] == pytest.approx(0.1 + 3.0)
    assert [t for t, _ in backup.calls] == [pytest.approx(0.1)]
    assert [(c.provider, c.available) for c in llm.changes] == [(0, False), (0, True)]
    assert llm.changes[1].at == pytest.approx(3.2)
    assert all(s.available for s in llm.status)


async def test_llm_backoff_doubles_while_the_primary_keeps_failing() -> None:
    primary = FlakyLLM([], default=rate_limited())
    backup = FlakyLLM([], default="Backup.")
    llm = FallbackLLM(providers=[primary, backup], retry_interval=1.0, max_retry_interval=4.0)
    await converse(llm, [(0.0, "Hi")], linger=12.0)
    gaps = np.diff([t for t, _ in primary.calls])
    # each retry fails after 0.1 s of work; waits: 1, 2, 4, 4 (capped)
    assert list(np.round(gaps, 3)[:4]) == [1.1, 2.1, 4.1, 4.1]
    assert not llm.status[0].available and llm.status[0].failures >= 4


async def test_llm_attempt_timeout_switches_provider() -> None:
    primary = FlakyLLM([("hang",)], default="Primary.")
    backup = FlakyLLM([], default="Backup.")
    llm = FallbackLLM(providers=[primary, backup], attempt_timeout=1.0)
    replies = await converse(llm, [(0.0, "Hi")], linger=0.5)
    assert replies.replies == ["Backup."]
    assert [t for t, _ in backup.calls] == [pytest.approx(1.0)]
    assert "no answer within 1 s" in llm.status[0].last_error


async def test_llm_failure_mid_reply_is_continued_not_lost() -> None:
    primary = FlakyLLM([("cut", 3, "The capital of France is Paris.")])
    backup = FlakyLLM([], default="France is Paris.")
    llm = FallbackLLM(providers=[primary, backup], instructions="Be brief.")
    replies = await converse(llm, [(0.0, "Capital of France?")], linger=1.0)
    assert replies.replies == ["The capital of France is Paris."]
    assert llm.chat.last_assistant is not None
    assert llm.chat.last_assistant.text == "The capital of France is Paris."
    request = backup.calls[0][1]
    assert request.instructions == "Be brief.\n\n" + CONTINUE.format(said="The capital of")
    last = request.items[-1]
    assert isinstance(last, ChatMessage) and last.text == "Capital of France?"


async def test_llm_without_retry_on_chunk_sent_fails_the_reply() -> None:
    primary = FlakyLLM([("cut", 2, "one two three")])
    llm = FallbackLLM(providers=[primary, FlakyLLM([])], retry_on_chunk_sent=False)
    with pytest.raises(NodeError) as info:
        await converse(llm, [(0.0, "Count")], linger=1.0)
    assert "mid-stream" in str(info.value)


async def test_llm_every_provider_failing_is_one_clear_error() -> None:
    llm = FallbackLLM(
        providers=[
            FlakyLLM([rate_limited(2.0)]),
            FlakyLLM([ProviderError("local", "model crashed")]),
        ]
    )
    with pytest.raises(NodeError) as info:
        await converse(llm, [(0.0, "Hi")], linger=1.0)
    error = info.value.error
    assert isinstance(error, ProviderError) and error.provider == "fallback"
    assert "every LLM failed (2 tried)" in str(error)
    assert "cloud (HTTP 429): rate limit exceeded" in str(error)
    assert "local: model crashed" in str(error)


async def test_llm_is_a_drop_in_with_a_scripted_backup() -> None:
    llm = FallbackLLM(
        providers=[FlakyLLM([], default=RuntimeError("boom")), ScriptedLLM(replies=["Hello!"])]
    )
    replies = await converse(llm, [(0.0, "Hi")], linger=1.0)
    assert replies.replies == ["Hello!"]


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="at least one provider"):
        FallbackLLM(providers=[])
    with pytest.raises(ConfigError, match="must be a LLMNode"):
        FallbackLLM(providers=[ScriptedSTT()])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="must be a STTNode"):
        FallbackSTT(providers=[ScriptedTTS()])  # type: ignore[list-item]


# --------------------------------------------------------------------------- STT


class FlakySTT(STTNode):
    def __init__(self, behaviours: Sequence[Any], default: Any = "") -> None:
        super().__init__()
        self.behaviours = list(behaviours)
        self.default = default
        self.calls: list[float] = []

    async def transcribe(self, segment: SpeechSegment) -> str:
        self.calls.append(self.clock.now())
        behaviour = self.behaviours.pop(0) if self.behaviours else self.default
        await self.clock.sleep(0.2)
        if isinstance(behaviour, BaseException):
            raise behaviour
        return str(behaviour)


class Segments(Node):
    out: Out[SpeechSegment]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    async def run(self) -> None:
        for i in range(self.count):
            pcm = np.zeros((1600, 1), np.int16)
            await self.emit(
                self.out, SpeechSegment(pcm, 16000, pts=i, speech_start=i, speech_end=i + 0.1)
            )
            await self.clock.sleep(1.0)


class Transcripts(Node):
    inp: In[Transcript]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Transcript] = []

    async def on_inp(self, frame: Transcript) -> None:
        self.got.append(frame)


async def test_stt_transcribes_the_same_segment_with_the_backup() -> None:
    primary = FlakySTT([rate_limited(0.5)], default="from primary")
    backup = FlakySTT([], default="from backup")
    stt = FallbackSTT(providers=[primary, backup], retry_interval=0.1)
    g = Graph()
    feed = g.add(Segments(3), name="vad")
    g.add(stt, name="stt")
    sink = g.add(Transcripts(), name="out")
    g.connect(feed.out, stt.speech)
    g.connect(stt.transcripts, sink.inp)
    with anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()
    assert [(t.text, t.start) for t in sink.got] == [
        ("from backup", 0.0),  # nothing the user said is lost
        ("from primary", 1.0),  # recovered by the background retry at 0.2 + 0.5 s
        ("from primary", 2.0),
    ]
    assert primary.calls[:2] == [pytest.approx(0.0), pytest.approx(0.7)]


# --------------------------------------------------------------------------- TTS


class FlakyTTS(ScriptedTTS):
    def __init__(self, failures: Sequence[int], **settings: Any) -> None:
        super().__init__(**settings)
        self.failures = set(failures)
        self.calls = 0

    async def synthesize(self, text: str) -> Sequence[np.ndarray[Any, np.dtype[np.float32]]]:
        self.calls += 1
        if self.calls in self.failures:
            raise ProviderError("cloud", "server error", status=500)
        return await super().synthesize(text)


class SentenceFeed(Node):
    out: Out[Sentence]

    def __init__(self, sentences: list[Sentence]) -> None:
        super().__init__()
        self.sentences = sentences

    async def run(self) -> None:
        for sentence in self.sentences:
            await self.emit(self.out, sentence)


class Speech(Node):
    inp: In[SpeechAudio]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[SpeechAudio] = []

    async def on_inp(self, frame: SpeechAudio) -> None:
        self.got.append(frame)


async def test_tts_speaks_every_sentence_once_and_resamples_the_backup() -> None:
    primary = FlakyTTS([2], sample_rate=24000)  # its second call (sentence 2) fails
    backup = FlakyTTS([], sample_rate=16000)
    tts = FallbackTTS(providers=[primary, backup], retry_interval=10.0)
    sentences = [Sentence("One."), Sentence("Two two."), Sentence("Three.", final=True)]
    g = Graph()
    feed = g.add(SentenceFeed(sentences), name="feed")
    g.add(tts, name="tts")
    sink = g.add(Speech(), name="out")
    g.connect(feed.out, tts.sentences)
    g.connect(tts.audio, sink.inp)
    with anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()
    spoken = [f.text for f in sink.got if f.offset == 0.0]
    assert spoken == ["One.", "Two two.", "Three."]
    # the primary stays unavailable until its background retry (in 10 s): the backup goes on
    assert list(primary.spoken) == ["One."] and list(backup.spoken) == ["Two two.", "Three."]
    assert {f.sample_rate for f in sink.got} == {24000}
    two = [f for f in sink.got if f.text == "Two two."]
    # 8 chars of tone, resampled, then the sentence pause (0.15 s), in 20 ms frames
    assert sum(f.duration for f in two) == pytest.approx(8 * 0.06 + 0.15, abs=0.021)
    assert sink.got[-1].final
