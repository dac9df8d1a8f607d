"""AudioProcessor: noise suppression, echo cancellation, exact 10 ms chunking, pts kept."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicegraph.graph import Graph, InputError, NodeError, SpeechSegment
from voicegraph.nodes.audio import AudioProcessor, MemorySink, MemorySource
from voicegraph.runner import Runner, VirtualClock

SAMPLES = Path(__file__).resolve().parents[3] / "nodes" / "samples"


def load(name: str) -> np.ndarray:
    pcm, rate = sf.read(str(SAMPLES / name), dtype="int16", always_2d=True)
    assert rate == 16000
    return np.asarray(pcm)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


async def process(source: MemorySource, **settings: object) -> MemorySink:
    with Graph() as g:
        sink = MemorySink()
        source >> AudioProcessor(**settings).audio >> sink  # .audio: `reverse` also matches
    await Runner(g, clock=VirtualClock()).run()
    return sink


async def test_noise_suppression_lowers_the_noise_floor() -> None:
    noise = load("noise.wav")
    out = (await process(MemorySource(pcm=noise, sample_rate=16000))).audio()
    assert len(out) == len(noise)
    settled = slice(8000, None)  # after the suppressor has adapted
    assert rms(out[settled]) < rms(noise[settled]) / 2.5
    off = await process(
        MemorySource(pcm=noise, sample_rate=16000),
        noise_suppression=False,
        high_pass_filter=False,
    )
    assert rms(off.audio()[settled]) == pytest.approx(rms(noise[settled]), rel=0.05)


async def test_pts_and_sizes_are_kept_for_20_ms_frames() -> None:
    speech = load("question.wav")
    source = MemorySource(pcm=speech, sample_rate=16000, frame_ms=20)
    sink = await process(source)
    n = len(speech)
    assert [f.samples for f in sink.received] == [320] * (n // 320)
    assert [f.pts for f in sink.received] == [i * 320 / 16000 for i in range(n // 320)]
    assert len(sink.audio()) == n  # 70720 = 221 frames of 320: nothing left over


async def test_a_remainder_is_carried_and_flushed_at_the_end() -> None:
    speech = load("question.wav")[: 16000 + 100]
    sink = await process(MemorySource(pcm=speech, sample_rate=16000, frame_ms=32))  # 512
    assert len(sink.audio()) == len(speech)
    for a, b in itertools.pairwise(sink.received):
        assert b.pts == pytest.approx(a.end_pts, abs=1e-9)
    assert all(f.samples % 160 == 0 for f in sink.received[:-1])
    assert rms(sink.audio()) > 100  # speech survives


async def test_stereo_48k() -> None:
    speech = load("question.wav")[:8000]
    stereo = np.repeat(np.repeat(speech, 3, axis=0), 2, axis=1)  # crude 48 kHz stereo
    sink = await process(MemorySource(pcm=stereo, sample_rate=48000))
    assert sink.audio().shape == stereo.shape


async def test_an_unsupported_rate_is_refused_with_a_hint() -> None:
    source = MemorySource(pcm=np.zeros(4410, np.int16), sample_rate=44100)
    with pytest.raises(NodeError, match="44100 Hz.*insert Resampler") as info:
        await process(source)
    assert isinstance(info.value.error, InputError)


async def test_a_speech_segment_is_processed_whole_and_keeps_its_type() -> None:
    seg = SpeechSegment(load("question.wav")[:5000], 16000, pts=1.5, speech_start=1.6)
    sink = await process(MemorySource(frames=[seg]))
    (out,) = sink.received
    assert isinstance(out, SpeechSegment)
    assert (out.pts, out.speech_start, out.samples) == (1.5, 1.6, 5000)


async def test_echo_cancellation_uses_the_reverse_stream() -> None:
    far = load("barge_in.wav")[: 16000 * 4]
    delay = 640  # the echo comes back 40 ms later at half the level
    echo = np.zeros_like(far)
    echo[delay:] = far[:-delay] // 2

    async def run(aec: bool) -> np.ndarray:
        with Graph() as g:
            sink = MemorySink()
            apm = AudioProcessor(
                echo_cancellation=aec, noise_suppression=False, high_pass_filter=False
            )
            MemorySource(pcm=echo, sample_rate=16000, realtime=True) >> apm.audio >> sink
            g.connect(
                g.add(MemorySource(pcm=far, sample_rate=16000, realtime=True)).audio,
                apm.reverse,
            )
        await Runner(g, clock=VirtualClock()).run()
        return sink.audio()

    without, with_aec = await run(False), await run(True)
    tail = slice(16000 * 2, None)
    assert rms(with_aec[tail]) < rms(without[tail]) / 5
