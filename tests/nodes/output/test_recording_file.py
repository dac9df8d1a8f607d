"""AudioOutput's recording (and WavSink's file) never destroy an existing file: they are written
beside it and moved into place, and a run that never reached them leaves it untouched."""

from __future__ import annotations

import gc
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
    Graph,
    InputError,
    Node,
    NodeError,
    Out,
    SpeechAudio,
)
from voicegraph.nodes.audio import MemorySource, WavSink, WavSource
from voicegraph.nodes.output import AudioOutput
from voicegraph.runner import Runner, VirtualClock

OLD = b"an existing recording"
RATE = 16000


class Reply(Node):
    """One short spoken reply: 0.2 s of a tone."""

    audio: Out[SpeechAudio]

    async def run(self) -> None:
        pcm = np.full((RATE // 50, 1), 1000, np.int16)
        for i in range(10):
            frame = SpeechAudio(pcm, RATE, text="Hi.", offset=i * 0.02, text_duration=0.2,
                                final=i == 9)  # fmt: skip
            await self.emit(self.audio, frame)


class BrokenSetup(Node):
    """A source whose setup fails, as a missing input file's does."""

    out: Out[AudioFrame]

    async def setup(self) -> None:
        raise InputError("the input file is missing")

    async def run(self) -> None:
        raise AssertionError("never runs")


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


async def test_a_setup_failure_elsewhere_leaves_the_recording_untouched(tmp_path: Path) -> None:
    reply, sink = tmp_path / "reply.wav", tmp_path / "sink.wav"
    reply.write_bytes(OLD)
    sink.write_bytes(OLD)
    with Graph() as g:
        broken = BrokenSetup()
        broken >> WavSink(path=sink)
        Reply() >> AudioOutput(path=str(reply))
    with pytest.raises(NodeError, match="the input file is missing"):
        await Runner(g, clock=VirtualClock()).run()
    assert reply.read_bytes() == OLD and sink.read_bytes() == OLD
    assert names(tmp_path) == {"reply.wav", "sink.wav"}  # no temporary file left


async def test_a_missing_input_file_leaves_the_recording_untouched(tmp_path: Path) -> None:
    reply = tmp_path / "reply.wav"
    reply.write_bytes(OLD)
    with Graph() as g:
        WavSource(path=tmp_path / "missing.wav") >> WavSink(path=tmp_path / "copy.wav")
        Reply() >> AudioOutput(path=str(reply))
    with pytest.raises(NodeError):
        await Runner(g, clock=VirtualClock()).run()
    assert reply.read_bytes() == OLD
    assert names(tmp_path) == {"reply.wav"}


async def test_a_finished_run_replaces_the_recording(tmp_path: Path) -> None:
    reply, sink = tmp_path / "reply.wav", tmp_path / "sink.wav"
    reply.write_bytes(OLD)
    sink.write_bytes(OLD)
    pcm = np.full((1600, 1), 1000, np.int16)
    with Graph() as g:
        MemorySource(pcm=pcm, sample_rate=16000) >> WavSink(path=sink)
        Reply() >> AudioOutput(path=str(reply))
    await Runner(g, clock=VirtualClock()).run()
    with wave.open(str(reply)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        assert w.getnframes() == round(0.2 * RATE)
    with wave.open(str(sink)) as w:
        assert w.getnframes() == 1600
    assert names(tmp_path) == {"reply.wav", "sink.wav"}


def test_a_folder_is_refused_when_the_node_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(ConfigError, match="is a folder; give a file name"):
        AudioOutput(path=str(tmp_path))
    gc.collect()
    assert not unraisable
