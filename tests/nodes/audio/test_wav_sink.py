"""WavSink: 16-bit PCM WAV out, refuses format changes, finalizes on end of stream and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicegraph.graph import AudioFrame, Graph, GraphError, In, InputError, Node, NodeError
from voicegraph.nodes.audio import MemorySource, Resampler, WavSink
from voicegraph.runner import Runner, VirtualClock


def noise(samples: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32768, size=(samples, channels)).astype(np.int16)


async def write(path: Path, source: MemorySource, **settings: object) -> WavSink:
    with Graph() as g:
        sink = WavSink(path=path, **settings)
        source >> sink
    await Runner(g, clock=VirtualClock()).run()
    return sink


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (48000, 2), (8000, 1), (44100, 2)])
async def test_round_trip_is_exact(tmp_path: Path, rate: int, channels: int) -> None:
    pcm = noise(rate // 2 + 7, channels)
    path = tmp_path / "out.wav"
    sink = await write(path, MemorySource(pcm=pcm, sample_rate=rate))
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        rate,
        channels,
        "PCM_16",
        "WAV",
    )
    back, _ = sf.read(path, dtype="int16", always_2d=True)
    assert np.array_equal(back, pcm)
    assert sink.samples_written == len(pcm)


async def test_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "out.wav"
    await write(path, MemorySource(pcm=noise(1600), sample_rate=16000))
    assert sf.info(str(path)).frames == 1600


def frame(samples: int, rate: int, pts: float, channels: int = 1) -> AudioFrame:
    return AudioFrame(noise(samples, channels, seed=int(pts * 1000)), rate, pts=pts)


@pytest.mark.parametrize(
    ("second", "pattern"),
    [
        (frame(80, 8000, 0.01), "16000 Hz, 1 channel.*refused.*8000 Hz.*Resampler\\(rate=16000"),
        (frame(160, 16000, 0.01, channels=2), "refused.*2 channel.*channels=1"),
    ],
)
async def test_a_format_change_is_refused_and_earlier_audio_kept(
    tmp_path: Path, second: AudioFrame, pattern: str
) -> None:
    first = frame(160, 16000, 0.0)
    path = tmp_path / "out.wav"
    with pytest.raises(NodeError, match=pattern) as info:
        await write(path, MemorySource(frames=[first, second]))
    assert isinstance(info.value.error, InputError)
    assert "out.wav" in str(info.value)
    back, rate = sf.read(path, dtype="int16", always_2d=True)
    assert rate == 16000 and np.array_equal(back, first.pcm)  # finalized by close()


async def test_a_fixed_rate_refuses_other_rates(tmp_path: Path) -> None:
    # frames of two rates: the source's port has no fixed rate, so only the sink can tell
    source = MemorySource(frames=[frame(480, 48000, 0.0), frame(80, 8000, 0.01)])
    with pytest.raises(NodeError, match="at 16000 Hz.*refused.*48000 Hz"):
        await write(tmp_path / "out.wav", source, sample_rate=16000)


def test_a_producer_at_another_rate_is_caught_when_connected(tmp_path: Path) -> None:
    with Graph(), pytest.raises(GraphError, match="48000 Hz into 16000 Hz; insert a Resampler"):
        MemorySource(pcm=noise(10), sample_rate=48000) >> WavSink(
            path=tmp_path / "o.wav", sample_rate=16000
        )
    with Graph() as ok:
        (
            MemorySource(pcm=noise(10), sample_rate=48000)
            >> Resampler(rate=16000)
            >> WavSink(path=tmp_path / "o.wav", sample_rate=16000)
        )
    ok.check()


async def test_no_audio_still_leaves_a_valid_empty_wav(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    await write(path, MemorySource(), sample_rate=24000)
    info = sf.info(str(path))
    assert (info.frames, info.samplerate, info.channels) == (0, 24000, 1)


class FailsOnFifth(Node):
    audio: In[AudioFrame]

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def on_audio(self, frame: AudioFrame) -> None:
        self.count += 1
        if self.count == 5:
            raise RuntimeError("boom")


async def test_the_file_is_finalized_when_another_node_fails(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    pcm = noise(16000)
    with Graph() as g:
        src = MemorySource(pcm=pcm, sample_rate=16000)
        src >> WavSink(path=path)
        src >> FailsOnFifth()
    with pytest.raises(NodeError, match="boom"):
        await Runner(g, clock=VirtualClock()).run()
    back, _ = sf.read(path, dtype="int16", always_2d=True)
    assert len(back) >= 4 * 320  # what arrived before the failure is in a valid file
    assert np.array_equal(back, pcm[: len(back)])


async def test_the_sink_runs_again_from_scratch(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    src = MemorySource(pcm=noise(3200), sample_rate=16000)
    with Graph() as g:
        src >> WavSink(path=path)
    await Runner(g, clock=VirtualClock()).run()
    await Runner(g, clock=VirtualClock()).run()
    assert sf.info(str(path)).frames == 3200
