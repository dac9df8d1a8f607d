"""WavSource: every common WAV variant decodes to the right int16; bad files fail in setup()."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicegraph.graph import AudioFrame, Graph, In, InputError, Node, NodeError
from voicegraph.nodes.audio import MemorySink, WavSource
from voicegraph.runner import Runner, VirtualClock

SAMPLES = Path(__file__).resolve().parents[3] / "nodes" / "samples"


def sine(rate: int, seconds: float = 0.25, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def expected_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 32768), -32768, 32767).astype(np.int16)


async def play(path: Path, **settings: object) -> MemorySink:
    with Graph() as g:
        sink = MemorySink()
        WavSource(path=path, **{"realtime": False, **settings}) >> sink
    await Runner(g, clock=VirtualClock()).run()
    return sink


# --------------------------------------------------------------------------- formats

# (subtype, max abs error in int16 LSBs against round(x * 32768))
EXACT = [("PCM_16", 1), ("PCM_24", 1), ("PCM_32", 1), ("FLOAT", 1), ("DOUBLE", 1)]
LOSSY = [("PCM_U8", 257), ("ULAW", 700), ("ALAW", 700)]


@pytest.mark.parametrize(("subtype", "tolerance"), EXACT + LOSSY)
@pytest.mark.parametrize("container", ["WAV", "WAVEX"])
async def test_each_encoding_decodes_to_the_expected_int16(
    tmp_path: Path, subtype: str, tolerance: int, container: str
) -> None:
    rate = 16000
    x = sine(rate)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, x, rate, subtype=subtype, format=container)
    sink = await play(path)
    got = sink.audio()
    want = expected_int16(x)
    assert got.shape == (len(x), 1)
    assert sink.sample_rate == rate
    err = np.abs(got[:, 0].astype(np.int32) - want)
    assert err.max() <= tolerance
    assert np.corrcoef(got[:, 0], want)[0, 1] > 0.999


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000])
async def test_every_rate_from_8_to_48_khz(tmp_path: Path, rate: int) -> None:
    x = sine(rate, seconds=0.1)
    path = tmp_path / "a.wav"
    sf.write(path, x, rate, subtype="PCM_24")
    sink = await play(path)
    assert sink.sample_rate == rate
    assert np.abs(sink.audio()[:, 0].astype(np.int32) - expected_int16(x)).max() <= 1
    assert {f.samples for f in sink.received[:-1]} == {round(rate * 0.02)}


async def test_float_beyond_full_scale_is_clipped_not_wrapped(tmp_path: Path) -> None:
    x = np.array([0.0, 0.5, 1.0, 1.5, 40.0, -1.0, -2.0, -1e9, 0.999, -0.25])
    for subtype in ("FLOAT", "DOUBLE"):
        path = tmp_path / f"{subtype}.wav"
        sf.write(path, x, 16000, subtype=subtype)
        got = (await play(path)).audio()[:, 0]
        assert got.tolist() == [0, 16384, 32767, 32767, 32767, -32768, -32768, -32768, 32735, -8192]


async def test_24_and_32_bit_extremes_scale_down_and_round(tmp_path: Path) -> None:
    full = np.array([2**31 - 1, -(2**31), 2**16 * 1000 + 2**15, 2**16 * -1000, 5], dtype=np.int32)
    for subtype in ("PCM_24", "PCM_32"):
        path = tmp_path / f"{subtype}.wav"
        sf.write(path, full, 16000, subtype=subtype)
        got = (await play(path)).audio()[:, 0].tolist()
        assert got[:2] == [32767, -32768]
        assert got[2] in (1000, 1001) and got[3] == -1000 and got[4] == 0


async def test_stereo_mixdown_and_keep(tmp_path: Path) -> None:
    rate = 16000
    left, right = sine(rate, amp=0.5), sine(rate, freq=880, amp=0.25)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), rate, subtype="PCM_16", format="WAVEX")
    kept = (await play(path, channels="keep")).audio()
    assert kept.shape == (len(left), 2)
    assert np.abs(kept[:, 0].astype(np.int32) - expected_int16(left)).max() <= 1
    assert np.abs(kept[:, 1].astype(np.int32) - expected_int16(right)).max() <= 1
    mono = (await play(path)).audio()
    assert mono.shape == (len(left), 1)
    want = np.rint(kept.astype(np.float64).mean(axis=1))
    assert np.array_equal(mono[:, 0], want.astype(np.int16))


async def test_frames_pts_and_a_short_last_frame(tmp_path: Path) -> None:
    rate = 16000
    x = sine(rate, seconds=0.105)  # 1680 samples: 5 frames of 320 and one of 80
    path = tmp_path / "a.wav"
    sf.write(path, x, rate, subtype="PCM_16")
    sink = await play(path, frame_ms=20)
    assert [f.samples for f in sink.received] == [320] * 5 + [80]
    assert [f.pts for f in sink.received] == [i * 320 / 16000 for i in range(6)]
    assert all(f.channels == 1 and f.pcm.dtype == np.int16 for f in sink.received)


async def test_the_bundled_samples_play() -> None:
    sink = await play(SAMPLES / "question.wav", frame_ms=10)
    info = sf.info(str(SAMPLES / "question.wav"))
    assert sink.sample_rate == 16000
    assert len(sink.audio()) == info.frames
    want, _ = sf.read(str(SAMPLES / "question.wav"), dtype="int16")
    assert np.array_equal(sink.audio()[:, 0], want)


def test_port_sample_rate_is_read_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, sine(22050), 22050)
    assert WavSource(path=path).audio.sample_rate == 22050
    assert WavSource(path=tmp_path / "missing.wav").audio.sample_rate is None


# --------------------------------------------------------------------------- pacing


class ClockedSink(Node):
    audio: In[AudioFrame]

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[float, float]] = []

    async def on_audio(self, frame: AudioFrame) -> None:
        self.seen.append((self.clock.now(), frame.pts))


async def test_realtime_pacing_tracks_media_time_on_a_virtual_clock(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, sine(16000, seconds=1.0), 16000)
    clock = VirtualClock(start=5.0)
    with Graph() as g:
        sink = ClockedSink()
        WavSource(path=path) >> sink
    metrics = await Runner(g, clock=clock).run()
    assert len(sink.seen) == 50
    t0 = sink.seen[0][0]
    for now, pts in sink.seen:
        assert now - t0 == pytest.approx(pts, abs=1e-9)
    assert clock.now() - t0 == pytest.approx(1.0)  # the stream ends when its media does
    assert metrics.elapsed == pytest.approx(1.0)


async def test_not_realtime_emits_at_once(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, sine(16000, seconds=1.0), 16000)
    with Graph() as g:
        sink = ClockedSink()
        WavSource(path=path, realtime=False) >> sink
    await Runner(g, clock=VirtualClock()).run()
    assert {now for now, _ in sink.seen} == {0.0}


class SlowSink(ClockedSink):
    async def on_audio(self, frame: AudioFrame) -> None:
        await super().on_audio(frame)
        await self.clock.sleep(0.03)  # slower than real time


async def test_a_slow_consumer_makes_the_source_fall_behind_never_run_ahead(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, sine(16000, seconds=0.5), 16000)
    with Graph() as g:
        sink = SlowSink()
        g.connect(g.add(WavSource(path=path)).audio, g.add(sink).audio, capacity=1)
    await Runner(g, clock=VirtualClock()).run()
    assert len(sink.seen) == 25
    assert all(now >= pts - 1e-9 for now, pts in sink.seen)


# --------------------------------------------------------------------------- bad input


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def good_wav(tmp_path: Path) -> bytes:
    path = tmp_path / "good.wav"
    sf.write(path, sine(16000, 0.1), 16000, subtype="PCM_16")
    return path.read_bytes()


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, a regex the error message must match)."""
    mp3 = tmp_path / "song.mp3"
    sf.write(mp3, sine(16000, 0.5), 16000, format="MP3")
    flac = tmp_path / "x.flac"
    sf.write(flac, sine(16000, 0.1), 16000, format="FLAC")
    adpcm = tmp_path / "adpcm.wav"
    sf.write(adpcm, sine(16000, 0.1), 16000, subtype="IMA_ADPCM")
    fast = tmp_path / "96k.wav"
    sf.write(fast, sine(96000, 0.1), 96000)
    slow = tmp_path / "4k.wav"
    sf.write(slow, sine(4000, 0.1), 4000)
    empty_data = tmp_path / "nodata.wav"
    sf.write(empty_data, np.zeros(0, np.int16), 16000, subtype="PCM_16")
    aiff = tmp_path / "x.aiff"
    sf.write(aiff, sine(16000, 0.1), 16000, format="AIFF")
    good = good_wav(tmp_path)
    return {
        "missing": (tmp_path / "nope.wav", "does not exist"),
        "directory": (tmp_path, "not a regular file"),
        "empty": (write_bytes(tmp_path / "empty.wav", b""), r"empty \(0 bytes\)"),
        "no samples": (empty_data, "no audio samples"),
        "truncated header": (write_bytes(tmp_path / "t.wav", good[:30]), "truncated or corrupt"),
        "riff only": (write_bytes(tmp_path / "r.wav", good[:12]), "truncated or corrupt"),
        "garbage": (write_bytes(tmp_path / "g.wav", bytes(range(256)) * 8), "not a WAV"),
        "mp3 renamed": (write_bytes(tmp_path / "song.wav", mp3.read_bytes()), "MP3"),
        "flac renamed": (write_bytes(tmp_path / "f.wav", flac.read_bytes()), "FLAC"),
        "aiff renamed": (write_bytes(tmp_path / "a.wav", aiff.read_bytes()), "AIFF"),
        "adpcm": (adpcm, "IMA ADPCM.*does not support"),
        "96 kHz": (fast, "unsupported sample rate of 96000 Hz"),
        "4 kHz": (slow, "unsupported sample rate of 4000 Hz"),
    }


async def test_bad_files_fail_in_setup_with_a_useful_message(tmp_path: Path) -> None:
    for name, (path, pattern) in bad_files(tmp_path).items():
        node = WavSource(path=path)
        with pytest.raises(InputError, match=pattern) as info:
            await node.setup()
        assert str(path) in str(info.value), name


async def test_a_bad_file_fails_the_graph_before_it_runs(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "t.wav", good_wav(tmp_path)[:30])
    with Graph() as g:
        sink = MemorySink()
        WavSource(path=path) >> sink
    with pytest.raises(NodeError, match="truncated or corrupt") as info:
        await Runner(g, clock=VirtualClock()).run()
    assert isinstance(info.value.error, InputError)
    assert "during setup" in str(info.value.frame)
    assert sink.received == []


async def test_data_cut_short_is_read_up_to_where_it_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = good_wav(tmp_path)  # 1600 samples
    path = write_bytes(tmp_path / "cut.wav", good[:-1000])  # 500 samples missing
    with caplog.at_level(logging.WARNING, logger="voicegraph.nodes.audio"):
        sink = await play(path)
    assert len(sink.audio()) == 1100
    assert "truncated" in caplog.text
    want, _ = sf.read(tmp_path / "good.wav", dtype="int16")
    assert np.array_equal(sink.audio()[:, 0], want[:1100])


def test_a_fifo_does_not_block_building_the_node(tmp_path: Path) -> None:
    """A graph file naming a FIFO builds (the header is not read) and fails at setup, clearly."""
    import os
    import threading

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    built: list[WavSource] = []
    worker = threading.Thread(target=lambda: built.append(WavSource(path=fifo)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock the reader so the test process can exit
        with open(fifo, "wb"):
            pass
        pytest.fail("WavSource() blocked reading a FIFO")
    assert built[0].audio.sample_rate is None
