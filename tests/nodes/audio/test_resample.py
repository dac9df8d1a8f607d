"""Resampler: duration and pts continuity, pass-through, rate changes, frame types, check()."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
    Graph,
    GraphError,
    In,
    Node,
    SpeechAudio,
    SpeechSegment,
)
from voicegraph.nodes.audio import MemorySink, MemorySource, Resampler
from voicegraph.nodes.audio._resample import remix
from voicegraph.runner import Runner, VirtualClock


def tone(rate: int, seconds: float, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = (0.5 * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16).reshape(-1, 1)
    return np.repeat(x, channels, axis=1)


def frames_of(pcm: np.ndarray, rate: int, ms: float = 20, pts0: float = 0.0) -> list[AudioFrame]:
    n = round(rate * ms / 1000)
    return [AudioFrame(pcm[i : i + n], rate, pts=pts0 + i / rate) for i in range(0, len(pcm), n)]


async def resample(frames: list[AudioFrame], **settings: object) -> MemorySink:
    with Graph() as g:
        sink = MemorySink()
        MemorySource(frames=frames) >> Resampler(**settings) >> sink
    await Runner(g, clock=VirtualClock()).run()
    return sink


def assert_continuous(frames: list[AudioFrame], start: float) -> None:
    assert frames[0].pts == pytest.approx(start, abs=1e-9)
    for a, b in itertools.pairwise(frames):
        assert b.pts == pytest.approx(a.end_pts, abs=1e-9)


def peak_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm[:, 0].astype(np.float64)))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("quality", ["quick", "medium", "very_high"])
@pytest.mark.parametrize(("src_rate", "frame_ms"), [(48000, 20), (8000, 10), (44100, 20)])
async def test_duration_pts_and_pitch_are_kept(src_rate: int, frame_ms: int, quality: str) -> None:
    seconds = 1.0
    sink = await resample(
        frames_of(tone(src_rate, seconds), src_rate, frame_ms, pts0=2.5), quality=quality
    )
    out = sink.audio()
    assert sink.sample_rate == 16000
    assert abs(len(out) - 16000 * seconds) <= 3
    assert_continuous(sink.received, start=2.5)
    assert peak_hz(out, 16000) == pytest.approx(440, abs=2)
    # the waveform matches a 440 Hz tone generated at 16 kHz (away from the edges)
    want = tone(16000, seconds)[:, 0].astype(np.float64)
    mid = slice(800, 15000)
    assert np.corrcoef(out[mid, 0], want[mid])[0, 1] > 0.99


async def test_stereo_44k_to_mono_16k() -> None:
    left = tone(44100, 0.5)
    right = np.zeros_like(left)
    sink = await resample(frames_of(np.hstack([left, right]), 44100))
    out = sink.audio()
    assert out.shape[1] == 1 and abs(len(out) - 8000) <= 3
    assert np.abs(out).max() == pytest.approx(0.25 * 32767, rel=0.05)  # averaged with silence


async def test_matching_frames_pass_through_untouched() -> None:
    frames = frames_of(tone(16000, 0.2), 16000)
    sink = await resample(frames)
    assert all(a is b for a, b in zip(sink.received, frames, strict=True))


async def test_channel_change_only_does_not_resample() -> None:
    frames = frames_of(tone(16000, 0.2), 16000)
    sink = await resample(frames, channels=2)
    assert np.array_equal(sink.audio(), np.repeat(tone(16000, 0.2), 2, axis=1))
    assert [f.pts for f in sink.received] == [f.pts for f in frames]


async def test_a_rate_change_mid_stream_flushes_and_keeps_the_timeline() -> None:
    first = frames_of(tone(48000, 0.5), 48000)
    second = frames_of(tone(8000, 0.5), 8000, pts0=0.5)
    sink = await resample(first + second)
    assert abs(len(sink.audio()) - 16000) <= 4
    assert_continuous(sink.received, start=0.0)


async def test_a_jump_in_pts_starts_a_new_timeline() -> None:
    first = frames_of(tone(48000, 0.5), 48000)
    second = frames_of(tone(48000, 0.5), 48000, pts0=10.0)
    sink = await resample(first + second)
    before = [f for f in sink.received if f.pts < 10.0]
    after = [f for f in sink.received if f.pts >= 10.0]
    assert abs(sum(f.samples for f in before) - 8000) <= 2  # flushed before the jump
    assert abs(sum(f.samples for f in after) - 8000) <= 2
    assert_continuous(before, start=0.0)
    assert_continuous(after, start=10.0)


async def test_a_speech_segment_is_resampled_whole_and_keeps_its_fields() -> None:
    seg = SpeechSegment(tone(48000, 0.73), 48000, pts=4.0, speech_start=4.1, speech_end=4.6)
    sink = await resample([seg])
    (out,) = sink.received
    assert isinstance(out, SpeechSegment)
    assert (out.pts, out.speech_start, out.speech_end) == (4.0, 4.1, 4.6)
    assert out.sample_rate == 16000 and abs(out.samples - round(0.73 * 16000)) <= 1


async def test_speech_audio_keeps_its_text_and_flushes_on_final() -> None:
    pcm = tone(24000, 0.3)
    n = 480
    frames = [
        SpeechAudio(pcm[i : i + n], 24000, pts=i / 24000, text="hello", final=i + n >= len(pcm))
        for i in range(0, len(pcm), n)
    ]
    sink = await resample(frames, rate=48000)
    assert all(isinstance(f, SpeechAudio) and f.text == "hello" for f in sink.received)
    assert sink.received[-1].final  # type: ignore[attr-defined]
    assert abs(len(sink.audio()) - 14400) <= 2  # the whole reply, flushed with the final frame


class Needs16k(Node):
    audio: In[AudioFrame] = In(sample_rate=16000)

    async def on_audio(self, frame: AudioFrame) -> None:
        pass


def test_the_output_port_declares_its_rate_for_graph_checks() -> None:
    assert Resampler(rate=24000).audio_out.sample_rate == 24000
    with Graph(), pytest.raises(GraphError, match="48000 Hz into 16000 Hz"):
        Resampler(rate=48000) >> Needs16k()
    with Graph() as g:
        Resampler(rate=16000) >> Needs16k()
    assert not [p for p in g.problems() if "sample-rate" in p]


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="quality"):
        Resampler(quality="best")
    with pytest.raises(ConfigError, match="rate"):
        Resampler(rate=0)


def test_remix() -> None:
    st = np.array([[100, 201], [-100, -300]], np.int16)
    assert remix(st, 1).tolist() == [[150], [-200]]
    assert remix(st[:, :1], 2).tolist() == [[100, 100], [-100, -100]]
    assert remix(st, 2) is st


async def test_an_interrupt_discards_buffered_audio_and_restarts_the_timeline() -> None:
    frames = frames_of(tone(48000, 1.0), 48000)
    clock = VirtualClock()
    with Graph() as g:
        sink = MemorySink()
        MemorySource(frames=frames, realtime=True) >> Resampler() >> sink
    async with Runner(g, clock=clock) as runner:
        await clock.sleep(0.5)
        runner.interrupt("memory_source", reason="test")
        await runner.wait()
    after = [f for f in sink.received if f.epoch == 1]
    before = [f for f in sink.received if f.epoch == 0]
    assert before and after
    assert_continuous(after, start=after[0].pts)
    assert after[0].pts >= 0.5 - 1e-9  # a fresh timeline at the first frame after the cut
    assert sum(f.samples for f in sink.received) < 16000  # the buffered tail was dropped
