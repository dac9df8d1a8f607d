"""Audio graphs end to end: file -> resampler -> processor -> file, on both clocks."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import soundfile as sf

from voicegraph.graph import Graph
from voicegraph.nodes.audio import AudioProcessor, MemorySink, Resampler, WavSink, WavSource
from voicegraph.runner import RealClock, Runner, VirtualClock

SAMPLES = Path(__file__).resolve().parents[3] / "nodes" / "samples"


def make_48k_stereo_float(path: Path) -> int:
    """question.wav upsampled (by repetition) to 48 kHz stereo float; returns its length."""
    pcm, _ = sf.read(str(SAMPLES / "question.wav"), dtype="float32")
    wide = np.repeat(pcm, 3)
    sf.write(path, np.stack([wide, wide], axis=1), 48000, subtype="FLOAT", format="WAVEX")
    return len(wide)


async def test_wav_to_resampler_to_wav_on_a_virtual_clock(tmp_path: Path) -> None:
    src_path, out_path = tmp_path / "in.wav", tmp_path / "out" / "reply.wav"
    n48 = make_48k_stereo_float(src_path)
    clock = VirtualClock()
    with Graph("audio") as g:
        (
            WavSource(path=src_path)
            >> Resampler(rate=16000)
            >> WavSink(path=out_path, sample_rate=16000)
        )
    g.check()
    metrics = await Runner(g, clock=clock).run()
    info = sf.info(str(out_path))
    assert (info.samplerate, info.channels) == (16000, 1)
    assert abs(info.frames - n48 // 3) <= 3
    assert abs(metrics.elapsed - n48 / 48000) < 1e-6  # realtime: media time on the clock
    out, _ = sf.read(out_path, dtype="int16")
    ref, _ = sf.read(str(SAMPLES / "question.wav"), dtype="int16")
    m = min(len(out), len(ref))
    assert np.corrcoef(out[:m], ref[:m])[0, 1] > 0.98


async def test_the_full_chain_on_the_real_clock(tmp_path: Path) -> None:
    src_path = tmp_path / "in.wav"
    n48 = make_48k_stereo_float(src_path)
    with Graph() as g:
        sink = MemorySink()
        apm = AudioProcessor()
        WavSource(path=src_path, realtime=False) >> Resampler(rate=16000) >> apm.audio
        apm >> sink
    await Runner(g, clock=RealClock()).run()
    assert sink.sample_rate == 16000
    assert abs(len(sink.audio()) - n48 // 3) <= 3
    for a, b in itertools.pairwise(sink.received):
        assert abs(b.pts - a.end_pts) < 1e-9
