"""TTSNode as a host: engine swaps (resampled to the host's rate), graph files, engine lifecycle,
and the optional streaming path."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, ClassVar

import anyio
import numpy as np
import pytest

from voicegraph.graph import (
    ConfigError,
    Graph,
    In,
    Node,
    Out,
    Sentence,
    SpeechAudio,
    UsageError,
    graph_to_dict,
)
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tts import (
    FloatAudio,
    ScriptedTTS,
    SpeechPiece,
    TTSEngine,
    TTSNode,
    TTSStream,
)
from voicegraph.runner import Runner, VirtualClock

Step = Sentence | float | str | Callable[[], None]


class Say(Node):
    """Sends sentences; a float sleeps, "interrupt" interrupts, a callable is called."""

    sentences: Out[Sentence]
    restart_on_interrupt = False

    def __init__(self, steps: list[Step]) -> None:
        super().__init__()
        self.steps = steps

    async def run(self) -> None:
        for step in self.steps:
            if isinstance(step, Sentence):
                await self.emit(self.sentences, step)
            elif isinstance(step, float):
                await self.clock.sleep(step)
            elif step == "interrupt":
                self.interrupt("test")
            elif callable(step):
                step()


class Keep(Node):
    audio: In[SpeechAudio]

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[SpeechAudio] = []

    async def on_audio(self, frame: SpeechAudio) -> None:
        self.frames.append(frame)
        await self.clock.sleep(frame.duration)  # a real-time listener


async def speak(tts: TTSNode, steps: list[Step]) -> Keep:
    g = Graph()
    say = g.add(Say(steps))
    g.add(tts)
    keep = g.add(Keep())
    g.connect(say.sentences, tts.sentences)
    g.connect(tts.audio, keep.audio)
    await Runner(g, clock=VirtualClock()).run()
    return keep


class Counted(ScriptedTTS):
    """A scripted engine that records its lifecycle."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")
        await super().start()

    async def aclose(self) -> None:
        self.events.append("close")
        await super().aclose()


# --------------------------------------------------------------------------- engines


async def test_set_engine_between_replies_is_resampled_to_the_host_rate() -> None:
    session, agent = ScriptedTTS(sample_rate=16000), ScriptedTTS(sample_rate=24000)
    tts = TTSNode(engine=session)
    steps: list[Step] = [
        Sentence("Hi.", final=True),
        1.0,
        lambda: tts.set_engine(agent),
        Sentence("Hello.", final=True),
        1.0,
        lambda: tts.set_engine(None),
        Sentence("Yo.", final=True),
    ]
    keep = await speak(tts, steps)
    assert list(session.spoken) == ["Hi.", "Yo."] and list(agent.spoken) == ["Hello."]
    assert tts.engine is session and tts.audio.sample_rate == 16000
    assert all(f.sample_rate == 16000 and f.pcm.shape == (320, 1) for f in keep.frames)
    hello = np.concatenate([f.pcm[:, 0] for f in keep.frames if f.text == "Hello."])
    # 6 characters of 24 kHz tone, brought to 16 kHz: still 0.36 s, still a 220 Hz tone
    assert len(hello) == pytest.approx(6 * 0.06 * 16000, abs=320)
    spectrum = np.abs(np.fft.rfft(hello.astype(np.float64)))
    assert np.argmax(spectrum) * 16000 / len(hello) == pytest.approx(220, abs=5)
    assert [f.final for f in keep.frames].count(True) == 3


async def test_engines_are_entered_once_on_the_host_clock_and_closed_with_it() -> None:
    session, agent = Counted(), Counted(sample_rate=16000)
    tts = TTSNode(engine=session)
    entered_before_first_reply: list[list[str]] = []
    steps: list[Step] = [
        lambda: entered_before_first_reply.append(list(session.events)),
        Sentence("One.", final=True),
        0.5,
        lambda: tts.set_engine(agent),
        Sentence("Two.", final=True),
        0.5,
        Sentence("Three.", final=True),
        0.5,
        lambda: tts.set_engine(None),
        Sentence("Four.", final=True),
    ]
    clock = VirtualClock()
    g = Graph()
    say, keep = g.add(Say(steps)), g.add(Keep())
    g.add(tts)
    g.connect(say.sentences, tts.sentences)
    g.connect(tts.audio, keep.audio)
    await Runner(g, clock=clock).run()
    assert entered_before_first_reply == [["start"]]  # loaded in setup, before any reply
    assert session.events == ["start", "close"] and agent.events == ["start", "close"]
    assert session.clock is clock and agent.clock is clock
    assert not session.started and not agent.started
    assert [f.text for f in keep.frames if f.final] == ["One.", "Two.", "Three.", "Four."]


def test_check_engine_refuses_what_set_engine_cannot_use() -> None:
    tts = TTSNode(engine=ScriptedTTS())
    with pytest.raises(ConfigError, match="expected a TTSEngine.*ScriptedSTT"):
        tts.set_engine(ScriptedSTT())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="streams its own audio at 16000 Hz"):
        tts.check_engine(Streaming(sample_rate=16000))
    tts.check_engine(Streaming(sample_rate=24000))
    tts.check_engine(ScriptedTTS(sample_rate=8000))  # per-sentence audio is resampled
    tts.check_engine(None)
    assert isinstance(tts.engine, ScriptedTTS)
    with pytest.raises(ConfigError, match="expected a TTSEngine"):
        TTSNode(engine=ScriptedSTT())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="streams its own audio"):
        TTSNode(engine=Streaming(sample_rate=16000), sample_rate=24000)


def test_sample_rate_comes_from_the_engine_unless_the_host_sets_it() -> None:
    assert TTSNode(engine=ScriptedTTS(sample_rate=16000)).audio.sample_rate == 16000
    host = TTSNode(engine=ScriptedTTS(sample_rate=16000), sample_rate=48000)
    assert host.sample_rate == host.audio.sample_rate == 48000


async def test_the_host_can_set_its_own_pauses() -> None:
    keep = await speak(
        TTSNode(engine=ScriptedTTS(), sentence_pause=0.1, clause_pause=0.04),
        [Sentence("Hi,"), Sentence("you."), Sentence("Bye.", final=True)],
    )
    seconds = {t: sum(f.duration for f in keep.frames if f.text == t) for t in ("Hi,", "you.")}
    assert seconds["Hi,"] == pytest.approx(3 * 0.06 + 0.04)
    assert seconds["you."] == pytest.approx(4 * 0.06 + 0.1)


def test_graph_file_round_trip_stores_the_engine_under_parts() -> None:
    g = Graph("speak")
    g.add(TTSNode(engine=ScriptedTTS(seconds_per_char=0.05, sample_rate=16000), frame_ms=10))
    data = graph_to_dict(g)
    node = next(n for n in data["nodes"] if n["name"] == "tts")
    engine_data = node["parts"]["engine"]
    assert engine_data["type"].endswith("ScriptedTTS")
    assert engine_data["config"]["seconds_per_char"] == 0.05
    loaded = Graph.from_yaml(g.to_yaml())
    tts = loaded["tts"]
    assert isinstance(tts, TTSNode) and tts.config.frame_ms == 10
    engine = tts.engine
    assert isinstance(engine, ScriptedTTS) and engine.config.seconds_per_char == 0.05
    assert tts.sample_rate == 16000
    assert graph_to_dict(loaded) == data


# --------------------------------------------------------------------------- streaming


class Streaming(TTSEngine):
    """A streaming engine: one piece per word, ``frame_samples`` long, after ``delay``."""

    streaming: ClassVar[bool] = True

    def __init__(self, *, sample_rate: int = 24000, delay: float = 0.05) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.delay = delay
        self.streams: list[FakeStream] = []

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        return [np.full(100, 0.5, np.float32)]

    async def stream(self, frame_samples: int) -> TTSStream:
        stream = FakeStream(self, frame_samples)
        self.streams.append(stream)
        return stream


class FakeStream(TTSStream):
    def __init__(self, engine: Streaming, frame_samples: int) -> None:
        self.engine = engine
        self.frame_samples = frame_samples
        self.pushed: list[str] = []
        self.ended = False
        self.closed = 0
        self._send, self._receive = anyio.create_memory_object_stream[str | None](16)

    async def send(self, text: str, *, final: bool = False) -> None:
        self.pushed.append(text)
        for word in text.split():
            await self._send.send(word)
        if final:
            self.ended = True
            await self._send.send(None)

    async def __aiter__(self) -> AsyncIterator[Sequence[SpeechPiece]]:
        words: list[str] = []
        async for word in self._receive:
            await self.engine.clock.sleep(self.engine.delay)
            if word is not None:
                words.append(word)
            if len(words) > 1 or (word is None and words):
                last = word is None and len(words) == 1
                pcm = np.full((self.frame_samples, 1), 1000, np.int16)
                yield [SpeechPiece(pcm, words.pop(0), 0.0, 0.02, final=last)]
            if word is None:
                return

    async def aclose(self) -> None:
        self.closed += 1


async def test_a_streaming_engine_speaks_word_pieces_as_they_come() -> None:
    engine = Streaming()
    tts = TTSNode(engine=engine)
    keep = await speak(tts, [Sentence("one two"), 0.5, Sentence("three.", final=True)])
    [stream] = engine.streams
    assert stream.pushed == ["one two", "three."] and stream.ended and stream.closed == 1
    assert [f.text for f in keep.frames] == ["one", "two", "three."]
    assert [f.final for f in keep.frames] == [False, False, True]
    assert all(f.pcm.shape == (480, 1) for f in keep.frames)
    assert [f.pts for f in keep.frames] == pytest.approx([0.0, 0.02, 0.04])
    assert list(tts.ttfb) == [pytest.approx(0.1)]  # "one" is out once "two" has come


async def test_a_streamed_reply_plays_out_before_the_next_and_empty_replies_end_silently() -> None:
    engine = Streaming()
    keep = await speak(
        TTSNode(engine=engine),
        [Sentence("a b", final=True), Sentence("c d", final=True), Sentence("", final=True)],
    )
    assert [f.text for f in keep.frames] == ["a", "b", "c", "d", ""]
    assert [f.final for f in keep.frames] == [False, True, False, True, True]
    assert len(engine.streams) == 2  # the empty reply opens no stream
    assert all(s.closed == 1 for s in engine.streams)


async def test_an_interrupt_closes_the_streamed_reply() -> None:
    engine = Streaming(delay=0.2)
    steps: list[Step] = [
        Sentence("one two three four five six", final=True),
        0.5,
        "interrupt",
        Sentence("fresh start", final=True),
    ]
    keep = await speak(TTSNode(engine=engine), steps)
    first, second = engine.streams
    assert first.closed == 1 and second.closed == 1
    late = [f for f in keep.frames if f.epoch > 0]
    assert [f.text for f in late] == ["fresh", "start"] and late[-1].final
    assert not any(f.final for f in keep.frames if f.epoch == 0)


class StuckStream(FakeStream):
    """Its close waits on a network that never answers (an ``anyio.Event`` nobody sets)."""

    async def aclose(self) -> None:
        await super().aclose()
        await anyio.Event().wait()


class StuckClosing(Streaming):
    """Its first streamed reply cannot be closed; later ones close at once."""

    async def stream(self, frame_samples: int) -> TTSStream:
        if self.streams:
            return await super().stream(frame_samples)
        stream = StuckStream(self, frame_samples)
        self.streams.append(stream)
        return stream


@pytest.mark.timeout(30, method="thread")  # before the fix: the shielded close hung forever
async def test_a_stream_stuck_closing_on_interrupt_does_not_block_the_next_reply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = StuckClosing(delay=0.2)
    steps: list[Step] = [
        Sentence("one two three four five six", final=True),
        0.5,
        "interrupt",
        Sentence("fresh start", final=True),
    ]
    with caplog.at_level(logging.ERROR, logger="voicegraph.nodes"):
        keep = await speak(TTSNode(engine=engine), steps)
    first, second = engine.streams
    assert first.closed == 1 and second.closed == 1
    late = [f for f in keep.frames if f.epoch > 0]
    assert [f.text for f in late] == ["fresh", "start"] and late[-1].final
    assert any(
        "StuckClosing" in r.getMessage() and "abandoned" in r.getMessage() for r in caplog.records
    )


async def test_input_ending_mid_reply_finishes_the_stream() -> None:
    engine = Streaming()
    keep = await speak(TTSNode(engine=engine), [Sentence("half a")])
    assert engine.streams[0].ended and engine.streams[0].pushed == ["half a", ""]
    assert [f.text for f in keep.frames] == ["half", "a"] and keep.frames[-1].final


async def test_a_per_sentence_engine_does_not_stream() -> None:
    with pytest.raises(UsageError, match="does not stream"):
        await ScriptedTTS().stream(480)


class Ticking(ScriptedTTS):
    """Records a tick each second of its background()."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.ticks: list[float] = []

    async def background(self) -> None:
        while True:
            self.ticks.append(self.clock.now())
            await self.clock.sleep(1.0)


async def test_engine_background_work_runs_beside_the_host_until_the_run_ends() -> None:
    """The EngineSlot runs each entered engine's background() (nodes/_host.py)."""
    session, agent = Ticking(), Ticking()
    tts = TTSNode(engine=session)
    steps: list[Step] = [
        Sentence("One.", final=True),
        2.5,
        lambda: tts.set_engine(agent),
        Sentence("Two.", final=True),
        1.8,
    ]
    with anyio.fail_after(5):  # the run ends although background() never returns
        await speak(tts, steps)
    assert session.ticks[:3] == pytest.approx([0.0, 1.0, 2.0])  # from setup on
    assert agent.ticks == pytest.approx([2.5, 3.5])  # from its first use on


# --------------------------------------------------------------------------- restarts and runs


class FailsOnce(ScriptedTTS):
    """Raises the first time it is asked to say ``fail_on``."""

    def __init__(self, fail_on: str, **settings: Any) -> None:
        super().__init__(**settings)
        self.fail_on = fail_on
        self.failed = False

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        if text == self.fail_on and not self.failed:
            self.failed = True
            raise RuntimeError("synthesis failed")
        return await super().synthesize(text)


async def test_a_supervised_restart_starts_a_new_reply() -> None:
    """The runner restarts a failed node with aclose() then setup(): the reply cut off by the
    failure is forgotten, so the next sentence starts a new one (pts from 0, a TTFB)."""
    tts = TTSNode(engine=FailsOnce("two.", sample_rate=16000, latency=0.1), frame_ms=10)
    g = Graph()
    say = g.add(Say([Sentence("one."), 1.0, Sentence("two."), Sentence("three.", final=True)]))
    g.add(tts, on_error="restart")
    keep = g.add(Keep())
    g.connect(say.sentences, tts.sentences)
    g.connect(tts.audio, keep.audio)
    await Runner(g, clock=VirtualClock()).run()
    # "two." failed (a run-style node's frame is not handed back); "three." starts anew
    assert [f.text for f in keep.frames if f.offset == 0.0] == ["one.", "three."]
    assert next(f for f in keep.frames if f.text == "three.").pts == 0.0
    assert list(tts.ttfb) == [pytest.approx(0.1), pytest.approx(0.1)]
    assert len(tts.timeline_events) == 2  # a restart keeps the run's events


async def test_a_second_run_keeps_only_its_own_timeline_events() -> None:
    tts = TTSNode(engine=ScriptedTTS(sample_rate=16000), frame_ms=10)
    g = Graph()
    say = g.add(Say([Sentence("one.", final=True), 1.0, Sentence("two.", final=True)]))
    g.add(tts)
    keep = g.add(Keep())
    g.connect(say.sentences, tts.sentences)
    g.connect(tts.audio, keep.audio)
    for _ in range(2):
        await Runner(g, clock=VirtualClock()).run()
        assert [e.seq for e in tts.timeline_events] == sorted({e.seq for e in tts.timeline_events})
        assert len(tts.timeline_events) == 2
