"""VADNode with SileroVAD on the bundled clips: segments, events, pass-through, bounded segments,
bad input, engine swaps between utterances, graph files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
    Event,
    Graph,
    GraphError,
    In,
    InputError,
    Node,
    NodeConfig,
    NodeError,
    Out,
    SpeechSegment,
    SpeechStarted,
    SpeechStopped,
    UsageError,
    graph_from_dict,
    graph_to_dict,
)
from voicegraph.nodes.vad import SileroVAD, VADEngine, VADNode
from voicegraph.runner import Runner, Trace, VirtualClock

SAMPLES = Path(__file__).parents[3] / "nodes" / "samples"


class WavFeed(Node):
    """Emit a WAV file as frames of ``frame_ms``, paced on the clock (media time = clock)."""

    class Config(NodeConfig):
        path: str
        frame_ms: float = 20.0
        rate: int | None = None  # relabel the sample rate (to test the rate check)
        channels: int = 1

    config: Config
    audio: Out[AudioFrame]

    async def run(self) -> None:
        data, sr = sf.read(self.config.path, dtype="int16", always_2d=True)
        data = np.repeat(data[:, :1], self.config.channels, axis=1)
        n = int(sr * self.config.frame_ms / 1000)
        for i in range(0, len(data), n):
            pts = i / sr
            await self.clock.sleep_until(pts)
            frame = AudioFrame(np.ascontiguousarray(data[i : i + n]), self.config.rate or sr, pts)
            await self.emit(self.audio, frame)


class Record(Node):
    """Keep the segments, the passed-through frames and every event per port."""

    segments: In[SpeechSegment]
    audio: In[AudioFrame]

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.segs: list[SpeechSegment] = []
        self.frames: list[AudioFrame] = []
        self.events: list[tuple[float, Event]] = []

    async def on_segments(self, frame: SpeechSegment) -> None:
        self.segs.append(frame)

    async def on_audio(self, frame: AudioFrame) -> None:
        self.frames.append(frame)

    async def on_event(self, event: Event) -> None:
        self.events.append((self.clock.now(), event))


async def run_vad(
    name: str, trace: Trace | None = None, **settings: Any
) -> tuple[VADNode, Record, list[AudioFrame]]:
    g = Graph()
    feed = g.add(WavFeed(path=str(SAMPLES / f"{name}.wav")))
    vad, rec = g.add(VADNode(engine=SileroVAD(**settings))), g.add(Record())
    g.connect(feed.audio, vad.audio, capacity=1000)
    g.connect(vad.segments, rec.segments, capacity=100)
    g.connect(vad.audio_out, rec.audio, capacity=1000)
    await Runner(g, clock=VirtualClock(), trace=trace).run()
    return vad, rec, rec.frames


async def test_question_gives_one_segment_around_the_speech() -> None:
    _, rec, _ = await run_vad("question")
    assert len(rec.segs) == 1
    seg = rec.segs[0]
    assert seg.speech_start == pytest.approx(0.5, abs=0.15)
    assert seg.speech_end == pytest.approx(1.9, abs=0.2)
    # the audio starts prefix_padding (0.5 s) before the speech and covers all of it
    assert seg.pts == pytest.approx(max(0.0, seg.speech_start - 0.5), abs=1e-6)
    assert seg.end_pts >= seg.speech_end
    assert seg.sample_rate == 16000 and seg.channels == 1
    # the segment's audio is the input audio at those media times
    data, _ = sf.read(SAMPLES / "question.wav", dtype="int16")
    start = round(seg.pts * 16000)
    assert np.array_equal(seg.pcm[:, 0], data[start : start + seg.samples])


async def test_events_arrive_on_both_outputs_in_media_time() -> None:
    trace = Trace(None)
    _, rec, _ = await run_vad("question", trace)
    events = [e for _, e in rec.events]
    # each event is sent once, along both output edges; a node reached by both handles it once
    sent = [(r["type"], r["edge"]) for r in trace.records if r["kind"] == "event"]
    for kind in ("SpeechStarted", "SpeechStopped"):
        assert sorted(edge for k, edge in sent if k == kind) == [
            "vad.audio_out -> record.audio",
            "vad.segments -> record.segments",
        ]
    speech = [type(e) for e in events if isinstance(e, SpeechStarted | SpeechStopped)]
    assert speech == [SpeechStarted, SpeechStopped]
    started = next(e for e in events if isinstance(e, SpeechStarted))
    stopped = next(e for e in events if isinstance(e, SpeechStopped))
    seg = rec.segs[0]
    assert started.pts == seg.speech_start
    assert stopped.pts == seg.speech_end
    assert stopped.duration == pytest.approx(seg.speech_end - seg.speech_start)
    # the source is paced on the virtual clock, so the clock tells when each decision was made:
    # the start after min_speech_duration, the stop after min_silence_duration (+ framing)
    t_start = next(t for t, e in rec.events if isinstance(e, SpeechStarted))
    t_stop = next(t for t, e in rec.events if isinstance(e, SpeechStopped))
    assert started.pts < t_start <= started.pts + 0.05 + 0.1
    assert stopped.pts + 0.2 <= t_stop + 0.02 <= stopped.pts + 0.2 + 0.1


async def test_audio_is_passed_through_unchanged() -> None:
    g = Graph()
    feed = g.add(WavFeed(path=str(SAMPLES / "question.wav"), frame_ms=10))
    vad, rec = g.add(VADNode(engine=SileroVAD())), g.add(Record())
    sent: list[AudioFrame] = []
    original = feed.emit

    async def spy(port: Any, frame: Any) -> None:
        sent.append(frame)
        await original(port, frame)

    feed.emit = spy  # type: ignore[method-assign]
    g.connect(feed.audio, vad.audio, capacity=1000)
    g.connect(vad.segments, rec.segments)
    g.connect(vad.audio_out, rec.audio, capacity=1000)
    await Runner(g, clock=VirtualClock()).run()
    assert len(rec.frames) == len(sent) == 442
    assert all(a is b for a, b in zip(rec.frames, sent, strict=True))


async def test_barge_in_two_utterances() -> None:
    # "Tell me a long story ..." / 3 s silence / "Wait, stop." (0.67 s pause) "Tell me about ..."
    _, rec, _ = await run_vad("barge_in", min_silence_duration=0.8)
    assert len(rec.segs) == 2
    first, second = rec.segs
    assert first.speech_end < 4.5 < 6.0 < second.speech_start
    # with LiveKit's default 0.55 s the pause after "Wait, stop." splits the second utterance
    _, rec, _ = await run_vad("barge_in")
    assert len(rec.segs) == 3
    assert rec.segs[2].speech_start - rec.segs[1].speech_end == pytest.approx(0.67, abs=0.05)


@pytest.mark.parametrize("name", ["silence", "noise"])
async def test_no_speech_no_segment_no_event(name: str) -> None:
    _, rec, frames = await run_vad(name)
    assert rec.segs == [] and rec.events == []
    assert len(frames) == 150  # 3 s in 20 ms frames, all passed through


async def test_long_speech_is_emitted_in_bounded_pieces() -> None:
    _, rec, _ = await run_vad("question", max_buffered_speech=0.8, prefix_padding_duration=0.3)
    assert len(rec.segs) >= 3
    assert all(s.duration <= 0.8 + 1e-9 for s in rec.segs)
    # the pieces are contiguous and together cover the utterance
    for a, b in zip(rec.segs, rec.segs[1:], strict=False):
        assert b.pts == pytest.approx(a.end_pts)
    assert rec.segs[0].speech_start == pytest.approx(0.5, abs=0.15)
    assert rec.segs[-1].speech_end == pytest.approx(1.9, abs=0.2)
    # one SpeechStarted/SpeechStopped pair for the whole utterance
    assert sum(isinstance(e, SpeechStarted) for _, e in rec.events) == 1
    assert sum(isinstance(e, SpeechStopped) for _, e in rec.events) == 1


async def test_speech_ongoing_at_end_of_stream_is_closed() -> None:
    # cut question.wav in the middle of the speech
    data, _ = sf.read(SAMPLES / "question.wav", dtype="int16")

    class Cut(Node):
        audio: Out[AudioFrame]

        async def run(self) -> None:
            for i in range(0, 16000 * 1, 160):  # first 1.0 s, 10 ms frames
                pcm = data[i : i + 160].reshape(-1, 1)
                await self.emit(self.audio, AudioFrame(pcm, 16000, i / 16000))

    g = Graph()
    src, vad, rec = g.add(Cut()), g.add(VADNode(engine=SileroVAD())), g.add(Record())
    g.connect(src.audio, vad.audio)
    g.connect(vad.segments, rec.segments)
    g.connect(vad.audio_out, rec.audio)
    await Runner(g, clock=VirtualClock()).run()
    assert len(rec.segs) == 1
    assert rec.segs[0].speech_end == pytest.approx(1.0)
    assert rec.segs[0].end_pts == pytest.approx(1.0)
    stops = [e for _, e in rec.events if isinstance(e, SpeechStopped)]
    assert stops and stops[0].pts == pytest.approx(1.0)


async def test_wrong_sample_rate_is_a_clear_error() -> None:
    g = Graph()
    feed = g.add(WavFeed(path=str(SAMPLES / "question.wav"), rate=48000))
    vad, rec = g.add(VADNode(engine=SileroVAD())), g.add(Record())
    g.connect(feed.audio, vad.audio)
    g.connect(vad.segments, rec.segments)
    g.connect(vad.audio_out, rec.audio)
    with pytest.raises(NodeError, match=r"16000 Hz mono.*48000 Hz.*Resampler") as info:
        await Runner(g, clock=VirtualClock()).run()
    assert isinstance(info.value.error, InputError)
    assert info.value.port == "audio"


async def test_stereo_is_a_clear_error() -> None:
    g = Graph()
    feed = g.add(WavFeed(path=str(SAMPLES / "question.wav"), channels=2))
    vad, rec = g.add(VADNode(engine=SileroVAD())), g.add(Record())
    g.connect(feed.audio, vad.audio)
    g.connect(vad.segments, rec.segments)
    g.connect(vad.audio_out, rec.audio)
    with pytest.raises(NodeError, match=r"2 channel"):
        await Runner(g, clock=VirtualClock()).run()


class Mic48k(Node):
    audio: Out[AudioFrame] = Out(sample_rate=48000)

    async def run(self) -> None:
        return


def test_graph_flags_a_sample_rate_mismatch() -> None:
    g = Graph()
    mic, vad = g.add(Mic48k()), g.add(VADNode(engine=SileroVAD()))
    with pytest.raises(GraphError, match="48000 Hz into 16000 Hz.*Resampler"):
        g.connect(mic.audio, vad.audio)


def test_config_defaults_and_validation() -> None:
    cfg = SileroVAD().config
    assert (cfg.activation_threshold, cfg.deactivation) == (0.5, 0.35)
    assert cfg.min_speech_duration == 0.05
    assert (cfg.min_silence_duration, cfg.prefix_padding_duration) == (0.2, 0.5)
    assert cfg.max_buffered_speech == 60.0
    vad = SileroVAD(activation_threshold=0.6, deactivation_threshold=0.2)
    assert vad.config.deactivation == 0.2
    with pytest.raises(ConfigError, match="deactivation_threshold"):
        SileroVAD(activation_threshold=0.4, deactivation_threshold=0.5)
    with pytest.raises(ConfigError, match="max_buffered_speech"):
        SileroVAD(max_buffered_speech=0.4)
    with pytest.raises(ConfigError):
        SileroVAD(activation_threshold=1.5)


async def test_same_result_every_run() -> None:
    runs = [await run_vad("barge_in") for _ in range(2)]
    key = [[(s.pts, s.speech_start, s.speech_end, s.samples) for s in r.segs] for _, r, _ in runs]
    assert key[0] == key[1]


# ------------------------------------------------------------------ host and engines


class Counted(SileroVAD):
    """Silero, counting windows, starts and closes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.windows = self.starts = self.closes = 0

    async def start(self) -> None:
        self.starts += 1
        await super().start()

    async def aclose(self) -> None:
        self.closes += 1
        await super().aclose()

    def probability(self, window: np.ndarray) -> float:
        self.windows += 1
        return super().probability(window)


class SwapFeed(WavFeed):
    """A WavFeed that asks ``host`` to switch to ``engine`` at media time ``at``."""

    host: VADNode
    engine: VADEngine | None
    at: float

    async def emit(self, port: Any, frame: Any) -> None:
        cls = type(self)
        if frame.pts <= cls.at < frame.end_pts:
            cls.host.set_engine(cls.engine)
        await super().emit(port, frame)


async def swap_run(first: VADEngine, second: VADEngine | None, at: float) -> tuple[VADNode, Record]:
    g = Graph()
    feed = g.add(SwapFeed(path=str(SAMPLES / "barge_in.wav")))
    vad, rec = g.add(VADNode(engine=first)), g.add(Record())
    SwapFeed.host, SwapFeed.engine, SwapFeed.at = vad, second, at
    g.connect(feed.audio, vad.audio, capacity=1000)
    g.connect(vad.segments, rec.segments, capacity=100)
    g.connect(vad.audio_out, rec.audio, capacity=1000)
    await Runner(g, clock=VirtualClock()).run()
    return vad, rec


async def test_set_engine_waits_for_the_end_of_the_utterance() -> None:
    # asked mid-way through the first utterance: it ends with the old engine's 0.8 s hangover,
    # then the new engine's 0.55 s splits the second utterance at its 0.67 s pause
    patient, eager = Counted(min_silence_duration=0.8), Counted()
    vad, rec = await swap_run(patient, eager, at=1.0)
    assert len(rec.segs) == 3
    first = rec.segs[0]
    assert first.speech_end < 4.5
    assert patient.windows * 512 / 16000 >= first.speech_end + 0.8
    assert eager.windows > 0 and vad.engine is eager
    # without the swap the same run gives two segments (see test_barge_in_two_utterances)
    _, rec = await swap_run(Counted(min_silence_duration=0.8), None, at=-1.0)
    assert len(rec.segs) == 2


async def test_engines_are_entered_once_and_closed_with_the_host() -> None:
    mine, theirs = Counted(), Counted()
    vad, _ = await swap_run(mine, theirs, at=5.0)
    assert (mine.starts, mine.closes, theirs.starts, theirs.closes) == (1, 1, 1, 1)
    assert not mine.started and not theirs.started
    vad.set_engine(None)
    assert vad.engine is mine


class Rate8k(VADEngine):
    sample_rate = 8000


def test_set_engine_refuses_what_the_host_cannot_use() -> None:
    vad = VADNode(engine=SileroVAD())
    assert vad.default_name() == "vad" and not vad.speaking
    with pytest.raises(ConfigError, match="expected a VADEngine.*got str"):
        vad.set_engine("silero")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="8000 Hz windows"):
        vad.check_engine(Rate8k())
    with pytest.raises(ConfigError, match="8000 Hz windows"):
        VADNode(engine=Rate8k())
    vad.check_engine(None)
    assert isinstance(vad.engine, SileroVAD)


async def test_engine_interface_and_unstarted_silero() -> None:
    with pytest.raises(NotImplementedError, match="Rate8k must implement probability"):
        Rate8k().probability(np.zeros(512, np.int16))
    Rate8k().reset()  # stateless by default
    with pytest.raises(UsageError, match="not started"):
        SileroVAD().probability(np.zeros(512, np.int16))
    async with SileroVAD() as engine:
        assert engine.probability(np.zeros(512, np.int16)) < 0.5


def test_graph_file_stores_the_engine_under_parts() -> None:
    g = Graph()
    g.add(VADNode(engine=SileroVAD(min_silence_duration=0.8)))
    data = graph_to_dict(g)
    (node,) = data["nodes"]
    assert (node["name"], node["type"]) == ("vad", "voicegraph.nodes.vad:VADNode")
    engine = node["parts"]["engine"]
    assert engine["type"] == "voicegraph.nodes.vad:SileroVAD"
    assert engine["config"]["min_silence_duration"] == 0.8
    loaded = graph_from_dict(data)
    (vad,) = loaded.members
    assert isinstance(vad, VADNode) and isinstance(vad.engine, SileroVAD)
    assert vad.engine.config == SileroVAD(min_silence_duration=0.8).config
    assert graph_to_dict(loaded) == data
