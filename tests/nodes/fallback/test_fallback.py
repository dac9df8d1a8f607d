"""Fallback engines with scripted providers on a virtual clock: failover, backoff, Retry-After.

The engines are driven as a host node drives them: bound to the run's clock, entered, with
``background()`` running in a task beside the requests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import numpy as np
import pytest

from voicegraph.graph import (
    ConfigError,
    Engine,
    Graph,
    In,
    LLMText,
    Node,
    NodeConfig,
    Out,
    ProviderError,
    Sentence,
    SpeechAudio,
    SpeechSegment,
    TextFrame,
    Transcript,
    UserTurn,
    graph_from_dict,
    graph_to_dict,
)
from voicegraph.nodes._closing import CLOSE_TIMEOUT
from voicegraph.nodes.fallback import CONTINUE, FallbackLLM, FallbackSTT, FallbackTTS
from voicegraph.nodes.llm import (
    ChatContext,
    FunctionCall,
    LLMChunk,
    LLMEngine,
    LLMNode,
    ScriptedLLM,
)
from voicegraph.nodes.stt import ScriptedSTT, STTEngine, STTNode
from voicegraph.nodes.tools import FunctionTool
from voicegraph.nodes.tts import FloatAudio, ScriptedTTS, TTSNode
from voicegraph.runner import Runner, VirtualClock

MODULE = __name__
T = TypeVar("T")


def rate_limited(retry_after: float | None = None) -> ProviderError:
    return ProviderError("cloud", "rate limit exceeded", status=429, retry_after=retry_after)


async def serve(
    engine: Engine,
    script: Sequence[tuple[float, Callable[[], Awaitable[T]]]],
    *,
    linger: float = 60.0,
    background: bool = True,
) -> list[T]:
    """Run ``script`` (clock time, request) against ``engine`` as a host would."""
    clock = VirtualClock()
    results: list[T] = []
    error: Exception | None = None
    engine.bind(clock)
    with anyio.fail_after(10):
        async with clock.running(), engine, anyio.create_task_group() as tg:
            if background:
                tg.start_soon(engine.background)
            try:
                for at, request in script:
                    await clock.sleep_until(at)
                    results.append(await request())
                await clock.sleep(linger)
            except Exception as exc:  # raised below, not in an ExceptionGroup
                error = exc
            tg.cancel_scope.cancel()
    if error is not None:
        raise error
    return results


# --------------------------------------------------------------------------- LLM


class FlakyLLM(LLMEngine):
    """Plays one behaviour per call: a reply text, an exception, ("hang",), ("cut", n, text),
    or ("call", n, text): a tool call after n words, then a failure."""

    class Config(NodeConfig):
        default: str = "fine"

    config: Config

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        behaviours: Sequence[Any] = (),
        default: Any = None,
        **settings: Any,
    ) -> None:
        if isinstance(default, str):
            settings["default"], default = default, None
        super().__init__(config, **settings)
        self.behaviours = list(behaviours)
        self.default = self.config.default if default is None else default
        self.calls: list[tuple[float, ChatContext, int]] = []
        self.closed = 0

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        self.calls.append((self.clock.now(), chat, step))
        behaviour = self.behaviours.pop(0) if self.behaviours else self.default
        try:
            await self.clock.sleep(0.1)
            if isinstance(behaviour, BaseException):
                raise behaviour
            if behaviour == ("hang",):
                await self.clock.sleep(3600)
            cut = call = None
            if isinstance(behaviour, tuple) and behaviour[0] == "cut":
                _, cut, behaviour = behaviour
            if isinstance(behaviour, tuple) and behaviour[0] == "call":
                _, call, behaviour = behaviour
            for index, word in enumerate(re.findall(r"\s*\S+", behaviour)):
                if index == call:
                    yield LLMChunk(tool_call=FunctionCall(call_id="1", name="lookup"))
                if index in (cut, call):
                    raise ProviderError("cloud", "the connection dropped mid-stream")
                yield LLMChunk(text=word)
                await self.clock.sleep(0.01)
        finally:
            self.closed += 1


def ask(llm: LLMEngine, text: str = "Hi", instructions: str = "") -> Callable[[], Awaitable[str]]:
    async def request() -> str:
        chat = ChatContext()
        if instructions:
            chat.set_instructions(instructions)
        chat.add_message("user", text)
        return "".join([chunk.text async for chunk in llm.generate(chat, [])])

    return request


async def test_llm_switches_to_the_backup_and_recovers_after_retry_after() -> None:
    primary = FlakyLLM(behaviours=[rate_limited(retry_after=3.0)], default="Primary answer.")
    backup = FlakyLLM(default="Backup answer.")
    llm = FallbackLLM(providers=[primary, backup])
    replies = await serve(llm, [(0.0, ask(llm, "Hi")), (10.0, ask(llm, "Again"))])
    assert replies == ["Backup answer.", "Primary answer."]
    # the first call failed at t=0.1; the background retry waited for Retry-After (3 s), not
    # the 0.5 s backoff, and succeeded, so the second turn went to the primary again
    times = [t for t, _, _ in primary.calls]
    assert times == [pytest.approx(0.0), pytest.approx(0.1 + 3.0), pytest.approx(10.0)]
    assert [t for t, _, _ in backup.calls] == [pytest.approx(0.1)]
    assert [(c.provider, c.available, c.name) for c in llm.changes] == [
        (0, False, "FlakyLLM"),
        (0, True, "FlakyLLM"),
    ]
    assert llm.changes[1].at == pytest.approx(3.2)
    assert all(s.available for s in llm.status)


async def test_llm_backoff_doubles_while_the_primary_keeps_failing() -> None:
    primary = FlakyLLM(default=rate_limited())
    backup = FlakyLLM(default="Backup.")
    llm = FallbackLLM(providers=[primary, backup], retry_interval=1.0, max_retry_interval=4.0)
    await serve(llm, [(0.0, ask(llm))], linger=12.0)
    gaps = np.diff([t for t, _, _ in primary.calls])
    # each retry fails after 0.1 s of work; waits: 1, 2, 4, 4 (capped)
    assert list(np.round(gaps, 3)[:4]) == [1.1, 2.1, 4.1, 4.1]
    assert not llm.status[0].available and llm.status[0].failures >= 4


async def test_llm_attempt_timeout_switches_provider() -> None:
    primary = FlakyLLM(behaviours=[("hang",)], default="Primary.")
    backup = FlakyLLM(default="Backup.")
    llm = FallbackLLM(providers=[primary, backup], attempt_timeout=1.0)
    assert await serve(llm, [(0.0, ask(llm))], linger=0.5) == ["Backup."]
    assert [t for t, _, _ in backup.calls] == [pytest.approx(1.0)]
    assert "no answer within 1 s" in llm.status[0].last_error
    assert primary.closed == len(primary.calls) == 2  # the hanging stream was closed too


async def test_llm_failure_mid_reply_is_continued_not_lost() -> None:
    primary = FlakyLLM(behaviours=[("cut", 3, "The capital of France is Paris.")])
    backup = FlakyLLM(default="France is Paris.")
    llm = FallbackLLM(providers=[primary, backup])
    request = ask(llm, "Capital of France?", instructions="Be brief.")
    assert await serve(llm, [(0.0, request)], linger=1.0) == ["The capital of France is Paris."]
    continued = backup.calls[0][1]
    assert continued.instructions == "Be brief.\n\n" + CONTINUE.format(said="The capital of")
    assert continued.messages[-1].text == "Capital of France?"
    retried = primary.calls[1][1]  # the background retry sends the original request
    assert retried.instructions == "Be brief."


async def test_llm_without_retry_on_chunk_sent_fails_the_reply() -> None:
    primary = FlakyLLM(behaviours=[("cut", 2, "one two three")])
    llm = FallbackLLM(providers=[primary, FlakyLLM()], retry_on_chunk_sent=False)
    with pytest.raises(ProviderError, match="mid-stream"):
        await serve(llm, [(0.0, ask(llm))], linger=1.0)


async def test_llm_reply_with_tool_calls_sent_ends_at_the_failure() -> None:
    primary = FlakyLLM(behaviours=[("call", 1, "Let me look.")])
    backup = FlakyLLM(default="Backup.")
    llm = FallbackLLM(providers=[primary, backup])

    async def request() -> list[LLMChunk]:
        chat = ChatContext()
        chat.add_message("user", "Look it up")
        return [chunk async for chunk in llm.generate(chat, [], step=2)]

    [chunks] = await serve(llm, [(0.0, request)], linger=1.0)
    assert [(c.text, c.tool_call is not None) for c in chunks] == [("Let", False), ("", True)]
    assert backup.calls == []  # the calls run; the next step goes through the fallback again
    assert [step for _, _, step in primary.calls] == [2, 2]  # the retry keeps the step
    assert llm.status[0].available  # its retry gave a tool call: it works again


async def test_llm_every_provider_failing_is_one_clear_error() -> None:
    llm = FallbackLLM(
        providers=[
            FlakyLLM(behaviours=[rate_limited(2.0)]),
            FlakyLLM(behaviours=[ProviderError("local", "crashed")]),
        ]
    )
    with pytest.raises(ProviderError) as info:
        await serve(llm, [(0.0, ask(llm))], linger=1.0)
    error = info.value
    assert error.provider == "fallback"
    assert "every LLM failed (2 tried)" in str(error)
    assert "0 FlakyLLM: cloud (HTTP 429): rate limit exceeded" in str(error)
    assert "1 FlakyLLM: local: crashed" in str(error)


async def test_llm_interrupted_reply_closes_the_provider_stream() -> None:
    primary = FlakyLLM(default="one two three four")
    llm = FallbackLLM(providers=[primary])

    async def interrupted() -> str:
        chat = ChatContext()
        chat.add_message("user", "Count")
        stream = llm.generate(chat, [])
        first = await anext(stream)
        assert isinstance(stream, AsyncGenerator)
        await stream.aclose()  # what the host does on barge-in
        return first.text

    assert await serve(llm, [(0.0, interrupted)], linger=1.0) == ["one"]
    assert primary.closed == 1 and llm.status[0].available


class StuckOnClose(LLMEngine):
    """Streams words; its cleanup waits on a network that never answers."""

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        try:
            for word in ("one", "two", "three"):
                yield LLMChunk(text=word)
        finally:
            await anyio.Event().wait()  # e.g. telling a server to stop, and it never replies


@pytest.mark.timeout(30, method="thread")  # before the fix: the shielded close hung forever
async def test_llm_provider_stuck_closing_its_stream_is_abandoned_in_bounded_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    llm = FallbackLLM(providers=[StuckOnClose()])
    took: list[float] = []

    async def interrupted() -> str:
        stream = llm.generate(ChatContext(), [])
        first = await anext(stream)
        assert isinstance(stream, AsyncGenerator)
        t0 = llm.clock.now()
        await stream.aclose()  # what the host does on barge-in
        took.append(llm.clock.now() - t0)
        return first.text

    with caplog.at_level(logging.ERROR, logger="voicegraph.nodes"):
        assert await serve(llm, [(0.0, interrupted)], linger=1.0) == ["one"]
    assert took == [pytest.approx(CLOSE_TIMEOUT)]
    assert any(
        "StuckOnClose" in r.getMessage() and "abandoned" in r.getMessage() for r in caplog.records
    )


async def test_llm_used_alone_retries_a_failed_provider_in_place_after_its_backoff() -> None:
    primary = FlakyLLM(behaviours=[rate_limited(retry_after=3.0)], default="Primary.")
    backup = FlakyLLM(default="Backup.")
    llm = FallbackLLM(providers=[primary, backup])
    script = [(0.0, ask(llm)), (1.0, ask(llm)), (5.0, ask(llm))]
    # no background(): nothing is retried between requests; the first request after the
    # Retry-After (at 5 s) tries the primary first again, and it serves from then on
    assert await serve(llm, script, linger=1.0, background=False) == [
        "Backup.",
        "Backup.",
        "Primary.",
    ]
    assert [t for t, _, _ in primary.calls] == [pytest.approx(0.0), pytest.approx(5.0)]
    assert [c.available for c in llm.changes] == [False, True]


async def test_llm_shared_by_two_hosts_retries_once_and_survives_one_host_stopping() -> None:
    primary = FlakyLLM(behaviours=[rate_limited(), rate_limited()], default="Primary.")
    llm = FallbackLLM(providers=[primary, FlakyLLM()], retry_interval=1.0)
    clock = VirtualClock()
    llm.bind(clock)
    with anyio.fail_after(10):
        async with clock.running(), llm, anyio.create_task_group() as tg:
            first, second = anyio.CancelScope(), anyio.CancelScope()

            async def host(scope: anyio.CancelScope) -> None:
                with scope:
                    await llm.background()

            tg.start_soon(host, first)
            tg.start_soon(host, second)
            await clock.sleep(0)
            await ask(llm)()  # fails over at 0.1; retries at 1.2 (fails) and 3.3
            await clock.sleep(0.5)
            first.cancel()  # one host stops; the other keeps retrying
            await clock.sleep(10)
            tg.cancel_scope.cancel()
    assert [round(t, 3) for t, _, _ in primary.calls] == [0.0, 1.1, 3.2]
    assert llm.status[0].available


async def test_llm_of_llms_runs_the_inner_engines_background() -> None:
    inner = FallbackLLM(providers=[FlakyLLM(behaviours=[rate_limited(1.0)]), FlakyLLM()])
    outer = FallbackLLM(providers=[inner, FlakyLLM(default="Outer backup.")])
    assert await serve(outer, [(0.0, ask(outer))], linger=5.0) == ["fine"]
    assert [c.available for c in inner.changes] == [False, True]  # recovered in background
    assert outer.label() == "FallbackLLM(FallbackLLM(FlakyLLM, FlakyLLM), FlakyLLM)"


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="at least one provider"):
        FallbackLLM(providers=[])
    with pytest.raises(ConfigError, match="must be a LLMEngine, got FlakySTT"):
        FallbackLLM(providers=[FlakySTT()])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="must be a STTEngine"):
        FallbackSTT(providers=[FlakyTTS()])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="invalid settings for FallbackTTS"):
        FallbackTTS(providers=[FlakyTTS()], sample_rate=0)


# --------------------------------------------------------------------------- lifecycle


class Probe(LLMEngine):
    """Records how it was started, closed and clocked."""

    def __init__(self, log: list[str], name: str, fail_start: bool = False) -> None:
        super().__init__()
        self.log, self.name, self.fail_start = log, name, fail_start

    async def start(self) -> None:
        if self.fail_start:
            raise ProviderError(self.name, "no model")
        self.log.append(f"start {self.name}")

    async def aclose(self) -> None:
        self.log.append(f"close {self.name}")


async def test_providers_are_entered_with_the_engine_and_share_its_clock() -> None:
    log: list[str] = []
    a, b = Probe(log, "a"), Probe(log, "b")
    llm = FallbackLLM(providers=[a, b])
    clock = VirtualClock()
    llm.bind(clock)
    assert a.clock is clock and b.clock is clock
    async with llm:
        async with llm:  # a second host: the providers start once
            assert log == ["start a", "start b"]
        assert a.started and b.started
    assert log == ["start a", "start b", "close b", "close a"]
    assert not a.started and not b.started


async def test_a_provider_failing_to_start_closes_the_ones_started() -> None:
    log: list[str] = []
    llm = FallbackLLM(providers=[Probe(log, "a"), Probe(log, "b", fail_start=True)])
    with pytest.raises(ProviderError, match="no model"):
        async with llm:
            pass
    assert log == ["start a", "close a"]
    assert not llm.started


class Host(Node):
    """The smallest host: one engine, stored as a part."""

    text: In[TextFrame]
    out: Out[TextFrame]

    def __init__(self, config: NodeConfig | None = None, /, *, engine: Engine, **kw: Any) -> None:
        super().__init__(config, **kw)
        self.engine = engine

    def parts(self) -> Mapping[str, Engine | Sequence[Engine]]:
        return {"engine": self.engine}


def fallback_engine(kind: str) -> FallbackLLM | FallbackSTT | FallbackTTS:
    if kind == "llm":
        return FallbackLLM(providers=[FlakyLLM(default="a"), FlakyLLM()], attempt_timeout=2)
    if kind == "stt":
        return FallbackSTT(providers=[FlakySTT(), FlakySTT()], language="fr", retry_interval=1)
    return FallbackTTS(providers=[FlakyTTS(sample_rate=16000), FlakyTTS()], sample_rate=22050)


@pytest.mark.parametrize("kind", ["llm", "stt", "tts"])
def test_graph_files_store_the_providers(kind: str) -> None:
    engine = fallback_engine(kind)
    g = Graph("g")
    g.add(Host(engine=engine), name="host")
    data = graph_to_dict(g)
    stored = data["nodes"][0]["parts"]["engine"]
    assert stored["config"] == engine.config.model_dump(mode="json")
    assert len(stored["parts"]["providers"]) == 2
    loaded = graph_from_dict(data, allow=[MODULE])
    assert graph_to_dict(loaded) == data
    (host,) = loaded.iter_nodes()
    assert isinstance(host, Host) and type(host.engine) is type(engine)
    copy = host.engine
    assert isinstance(copy, FallbackLLM | FallbackSTT | FallbackTTS)
    assert copy.config == engine.config
    assert [p.config for p in copy.providers] == [p.config for p in engine.providers]


# --------------------------------------------------------------------------- STT


class FlakySTT(STTEngine):
    """Answers ``default`` after ``delay`` s, or plays the next of ``behaviours``."""

    class Config(STTEngine.Config):
        default: str = ""
        delay: float = 0.2

    config: Config

    def __init__(
        self, config: NodeConfig | None = None, /, *, behaviours: Sequence[Any] = (), **kw: Any
    ) -> None:
        super().__init__(config, **kw)
        self.behaviours = list(behaviours)
        self.calls: list[float] = []

    async def transcribe(self, segment: SpeechSegment) -> str:
        self.calls.append(self.clock.now())
        behaviour = self.behaviours.pop(0) if self.behaviours else self.config.default
        await self.clock.sleep(self.config.delay)
        if isinstance(behaviour, BaseException):
            raise behaviour
        return f"{behaviour} {segment.speech_start:g}"


def segment(at: float) -> SpeechSegment:
    pcm = np.zeros((1600, 1), np.int16)
    return SpeechSegment(pcm, 16000, pts=at, speech_start=at, speech_end=at + 0.1)


async def test_stt_transcribes_the_same_segment_with_the_backup() -> None:
    primary = FlakySTT(behaviours=[rate_limited(0.5)], default="primary")
    backup = FlakySTT(default="backup")
    stt = FallbackSTT(providers=[primary, backup], retry_interval=0.1)
    script = [(float(i), lambda i=i: stt.transcribe(segment(i))) for i in range(3)]
    assert await serve(stt, script, linger=1.0) == [
        "backup 0",  # nothing the user said is lost
        "primary 1",  # recovered by the background retry at 0.2 + 0.5 s
        "primary 2",
    ]
    assert primary.calls[:2] == [pytest.approx(0.0), pytest.approx(0.7)]


async def test_stt_timeout_and_every_provider_failing() -> None:
    slow = FlakySTT(default="slow", delay=5.0)
    crashing = FlakySTT(behaviours=[ProviderError("local", "crashed")])
    stt = FallbackSTT(providers=[slow, crashing], attempt_timeout=1.0)
    with pytest.raises(ProviderError, match=r"every STT failed \(2 tried\)") as info:
        await serve(stt, [(0.0, lambda: stt.transcribe(segment(0)))], linger=0.0)
    assert "0 FlakySTT: fallback: STT 0 gave no answer within 1 s" in str(info.value)
    assert "1 FlakySTT: local: crashed" in str(info.value)


# --------------------------------------------------------------------------- TTS


class FlakyTTS(ScriptedTTS):
    """The scripted tone (0.06 s per character); fails on the listed calls (1-based)."""

    def __init__(
        self, config: NodeConfig | None = None, /, *, failures: Sequence[int] = (), **kw: Any
    ) -> None:
        super().__init__(config, **kw)
        self.failures = set(failures)
        self.calls = 0

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        self.calls += 1
        if self.calls in self.failures:
            raise ProviderError("cloud", "server error", status=500)
        return await super().synthesize(text)


async def test_tts_speaks_every_sentence_once_and_resamples_the_backup() -> None:
    primary = FlakyTTS(failures=[2], sample_rate=24000)  # its second call (sentence 2) fails
    backup = FlakyTTS(sample_rate=16000)
    tts = FallbackTTS(providers=[primary, backup], retry_interval=10.0)
    assert tts.sample_rate == 24000  # the first provider's
    sentences = ["One.", "Two two.", "Three."]
    script = [(0.0, lambda s=s: tts.synthesize(s)) for s in sentences]
    audio = await serve(tts, script, linger=1.0)
    # the primary stays unavailable until its background retry (in 10 s): the backup goes on
    assert list(primary.spoken) == ["One."] and list(backup.spoken) == ["Two two.", "Three."]
    seconds = [sum(len(part) for part in parts) / 24000 for parts in audio]
    assert seconds == [pytest.approx(len(s) * 0.06, abs=1e-4) for s in sentences]
    assert all(part.dtype == np.float32 for parts in audio for part in parts)


async def test_tts_reports_the_configured_rate_and_resamples_every_provider() -> None:
    tts = FallbackTTS(providers=[FlakyTTS(sample_rate=24000)], sample_rate=48000)
    assert tts.sample_rate == 48000
    [parts] = await serve(tts, [(0.0, lambda: tts.synthesize("Hi."))], linger=0.0)
    assert sum(len(p) for p in parts) == round(3 * 0.06 * 48000)


# --------------------------------------------------------------------------- in a host node


class Turns(Node):
    out: Out[UserTurn]

    def __init__(self, turns: list[tuple[float, str]], linger: float = 60.0) -> None:
        super().__init__()
        self.turns, self.linger = turns, linger

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
    sink = Replies()
    g.add(sink, name="replies")
    g.connect(feed.out, llm.turn)
    g.connect(llm.text, sink.text)
    with anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()
    return sink


async def test_llm_node_keeps_the_whole_reply_when_the_backup_continues_it() -> None:
    primary = FlakyLLM(behaviours=[("cut", 3, "The capital of France is Paris.")])
    backup = FlakyLLM(default="France is Paris.")
    llm = LLMNode(engine=FallbackLLM(providers=[primary, backup]), instructions="Be brief.")
    replies = await converse(llm, [(0.0, "Capital of France?")], linger=1.0)
    assert replies.replies == ["The capital of France is Paris."]
    assert llm.chat.last_assistant is not None
    assert llm.chat.last_assistant.text == "The capital of France is Paris."
    assert backup.calls[0][1].instructions == "Be brief.\n\n" + CONTINUE.format(
        said="The capital of"
    )


async def test_llm_node_with_a_scripted_backup_recovers_the_primary() -> None:
    primary = FlakyLLM(behaviours=[rate_limited(retry_after=3.0)], default="Primary answer.")
    engine = FallbackLLM(providers=[primary, ScriptedLLM(replies=["Backup answer."])])
    replies = await converse(LLMNode(engine=engine), [(0.0, "Hi"), (10.0, "Again")])
    assert replies.replies == ["Backup answer.", "Primary answer."]
    assert [c.available for c in engine.changes] == [False, True]


async def test_llm_node_runs_the_background_retries_between_turns() -> None:
    primary = FlakyLLM(behaviours=[rate_limited(retry_after=3.0)], default="Primary answer.")
    engine = FallbackLLM(providers=[primary, FlakyLLM(default="Backup answer.")])
    replies = await converse(LLMNode(engine=engine), [(0.0, "Hi"), (10.0, "Again")])
    assert replies.replies == ["Backup answer.", "Primary answer."]
    # retried at 3.1 s (Retry-After) while the node waited for the next turn
    times = [t for t, _, _ in primary.calls]
    assert times == [pytest.approx(0.0), pytest.approx(3.1), pytest.approx(10.0)]
    assert engine.changes[1].at == pytest.approx(3.2)


def test_llm_node_file_stores_the_fallback_and_its_providers() -> None:
    engine = FallbackLLM(
        providers=[ScriptedLLM(replies=["a"]), ScriptedLLM(replies=["b"])], retry_interval=2
    )
    g = Graph("g")
    g.add(LLMNode(engine=engine, instructions="Hi."), name="llm")
    data = graph_to_dict(g)
    loaded = graph_from_dict(data)
    assert graph_to_dict(loaded) == data
    (node,) = loaded.iter_nodes()
    assert isinstance(node, LLMNode) and isinstance(node.engine, FallbackLLM)
    assert node.engine.config.retry_interval == 2
    assert [p.config for p in node.engine.providers] == [p.config for p in engine.providers]


class Segments(Node):
    out: Out[SpeechSegment]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    async def run(self) -> None:
        for i in range(self.count):
            await self.emit(self.out, segment(float(i)))
            await self.clock.sleep(1.0)


class Transcripts(Node):
    inp: In[Transcript]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Transcript] = []

    async def on_inp(self, frame: Transcript) -> None:
        self.got.append(frame)


async def transcribe(stt: STTNode, count: int) -> list[Transcript]:
    g = Graph()
    feed = g.add(Segments(count), name="vad")
    g.add(stt, name="stt")
    sink = Transcripts()
    g.add(sink, name="out")
    g.connect(feed.out, stt.speech)
    g.connect(stt.transcripts, sink.inp)
    with anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()
    return sink.got


async def test_stt_node_loses_no_segment_when_the_primary_fails() -> None:
    primary = FlakySTT(behaviours=[rate_limited(0.5)], default="primary")
    backup = ScriptedSTT(texts=["from backup"])
    stt = STTNode(engine=FallbackSTT(providers=[primary, backup], retry_interval=0.1))
    got = await transcribe(stt, 3)
    assert [(t.text, t.start) for t in got] == [
        ("from backup", 0.0),
        ("primary 1", 1.0),
        ("primary 2", 2.0),
    ]


async def test_stt_node_runs_the_background_retries_between_segments() -> None:
    primary = FlakySTT(behaviours=[rate_limited(0.5)], default="primary")
    engine = FallbackSTT(providers=[primary, FlakySTT(default="backup")], retry_interval=0.1)
    await transcribe(STTNode(engine=engine), 3)
    assert primary.calls[:2] == [pytest.approx(0.0), pytest.approx(0.7)]  # retried at 0.2 + 0.5


class SentenceFeed(Node):
    out: Out[Sentence]

    def __init__(self, sentences: list[tuple[float, Sentence]]) -> None:
        super().__init__()
        self.sentences = sentences

    async def run(self) -> None:
        for at, sentence in self.sentences:
            await self.clock.sleep_until(at)
            await self.emit(self.out, sentence)


class Speech(Node):
    inp: In[SpeechAudio]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[SpeechAudio] = []

    async def on_inp(self, frame: SpeechAudio) -> None:
        self.got.append(frame)


async def speak(tts: TTSNode, sentences: list[tuple[float, Sentence]]) -> list[SpeechAudio]:
    g = Graph()
    feed = g.add(SentenceFeed(sentences), name="feed")
    g.add(tts, name="tts")
    sink = Speech()
    g.add(sink, name="out")
    g.connect(feed.out, tts.sentences)
    g.connect(tts.audio, sink.inp)
    with anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()
    return sink.got


async def test_tts_node_speaks_every_sentence_once_at_one_rate() -> None:
    primary = FlakyTTS(failures=[2], sample_rate=24000)  # its second call (sentence 2) fails
    backup = FlakyTTS(sample_rate=16000)
    tts = TTSNode(engine=FallbackTTS(providers=[primary, backup], retry_interval=10.0))
    assert tts.sample_rate == 24000
    sentences = [Sentence("One."), Sentence("Two two."), Sentence("Three.", final=True)]
    got = await speak(tts, [(0.0, s) for s in sentences])
    assert [f.text for f in got if f.offset == 0.0] == ["One.", "Two two.", "Three."]
    assert list(primary.spoken) == ["One."] and list(backup.spoken) == ["Two two.", "Three."]
    assert {f.sample_rate for f in got} == {24000}
    two = [f for f in got if f.text == "Two two."]
    # 8 chars of tone (7 voiced: the space is silence, trimmed only at the ends), resampled
    # from 16 kHz, then the sentence pause (0.15 s), in 20 ms frames
    assert sum(f.duration for f in two) == pytest.approx(8 * 0.06 + 0.15, abs=0.021)
    assert got[-1].final


async def test_tts_node_runs_the_background_retries_between_replies() -> None:
    primary = FlakyTTS(failures=[1], sample_rate=24000)
    backup = FlakyTTS(sample_rate=16000)
    engine = FallbackTTS(providers=[primary, backup], retry_interval=2.0)
    script = [(0.0, Sentence("Hi.", final=True)), (10.0, Sentence("Again.", final=True))]
    got = await speak(TTSNode(engine=engine), script)
    assert [f.text for f in got if f.offset == 0.0] == ["Hi.", "Again."]
    # the primary failed at 0 s, was retried in the background at 2 s (it answered, so it
    # is available again), and speaks the second reply
    assert [(c.available, c.at) for c in engine.changes] == [(False, 0.0), (True, 2.0)]
    assert list(primary.spoken) == ["Hi.", "Again."] and list(backup.spoken) == ["Hi."]
