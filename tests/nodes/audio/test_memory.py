"""MemorySource and MemorySink."""

from __future__ import annotations

import numpy as np
import pytest

from voicegraph.graph import AudioFrame, ConfigError, Graph, InputError, TextFrame
from voicegraph.nodes.audio import MemorySink, MemorySource
from voicegraph.runner import Runner, VirtualClock


async def collect(source: MemorySource, clock: VirtualClock | None = None) -> MemorySink:
    with Graph() as g:
        sink = MemorySink()
        source >> sink
    await Runner(g, clock=clock or VirtualClock()).run()
    return sink


async def test_pcm_is_cut_into_frames_with_media_time_pts() -> None:
    pcm = np.arange(1000, dtype=np.int16)
    sink = await collect(MemorySource(pcm=pcm, sample_rate=8000, frame_ms=40))
    assert [f.samples for f in sink.received] == [320, 320, 320, 40]
    assert [f.pts for f in sink.received] == [0.0, 0.04, 0.08, 0.12]
    assert np.array_equal(sink.audio()[:, 0], pcm)
    assert sink.audio().shape == (1000, 1)
    assert sink.sample_rate == 8000
    assert sink.duration == pytest.approx(0.125)


async def test_stereo_pcm_keeps_its_channels() -> None:
    pcm = np.arange(2000, dtype=np.int16).reshape(-1, 2)
    sink = await collect(MemorySource(pcm=pcm, sample_rate=16000))
    assert np.array_equal(sink.audio(), pcm)


async def test_frames_are_emitted_as_given() -> None:
    frames = [
        AudioFrame(np.full((160, 1), i, np.int16), 16000, pts=3.0 + i * 0.01) for i in range(5)
    ]
    sink = await collect(MemorySource(frames=frames))
    assert all(a is b for a, b in zip(sink.received, frames, strict=True))


async def test_realtime_paces_relative_to_the_first_pts() -> None:
    frames = [AudioFrame(np.zeros((160, 1), np.int16), 16000, pts=7.0 + i * 0.01) for i in range(5)]
    clock = VirtualClock()
    await collect(MemorySource(frames=frames, realtime=True), clock)
    assert clock.now() == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"pcm": np.zeros(10, np.float32), "sample_rate": 16000}, InputError, "int16.*float32"),
        ({"pcm": np.zeros((2, 2, 2), np.int16), "sample_rate": 16000}, InputError, "shape"),
        ({"pcm": [1, 2, 3], "sample_rate": 16000}, InputError, "list"),
        ({"pcm": np.zeros(10, np.int16)}, ConfigError, "sample_rate"),
        (
            {"pcm": np.zeros(10, np.int16), "sample_rate": 16000, "frames": []},
            ConfigError,
            "either",
        ),
        ({"frames": [TextFrame("hi")]}, InputError, "TextFrame"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        MemorySource(**kwargs)  # type: ignore[arg-type]


async def test_the_config_serializes_without_the_audio_and_load_refills_it() -> None:
    with Graph() as g:
        MemorySource(pcm=np.ones(320, np.int16), sample_rate=16000, frame_ms=10) >> MemorySink()
    g2 = Graph.from_yaml(g.to_yaml())
    src, sink = g2["memory_source"], g2["memory_sink"]
    assert isinstance(src, MemorySource) and isinstance(sink, MemorySink)
    assert src.config.frame_ms == 10
    await Runner(g2, clock=VirtualClock()).run()
    assert sink.received == []  # no audio: nothing is emitted
    src.load(pcm=np.ones(320, np.int16), sample_rate=16000)
    await Runner(g2, clock=VirtualClock()).run()
    assert [f.samples for f in sink.received] == [160, 160]


def test_sink_audio_refuses_mixed_formats_and_is_empty_without_frames() -> None:
    sink = MemorySink()
    assert sink.audio().shape == (0, 1)
    sink.received.append(AudioFrame(np.zeros((10, 1), np.int16), 16000))
    sink.received.append(AudioFrame(np.zeros((10, 1), np.int16), 8000))
    with pytest.raises(InputError, match="different formats"):
        sink.audio()


async def test_setup_starts_the_timeline_of_a_new_run() -> None:
    """A source set up again (a new run) keeps no MediaStarted of an earlier run: viz sorts a
    run's timeline events by the bus seq, which restarts at 1 each run."""
    source = MemorySource(pcm=np.zeros(800, np.int16), sample_rate=8000)
    await collect(source)
    assert [type(e).__name__ for e in source.timeline_events] == ["MediaStarted"]
    await source.setup()
    assert source.timeline_events == []
