"""Traces: every edge event is recorded to JSONL, and a recorded node's output can be replayed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from voicegraph.graph import AudioFrame, Graph, In, Node, Out, SpeechStarted, TextFrame
from voicegraph.runner import Runner, Trace, VirtualClock, load_trace


class Mic(Node):
    """Produces 5 audio frames 20 ms apart and one speech event."""

    audio: Out[AudioFrame]

    async def run(self) -> None:
        rng = np.random.default_rng(7)
        for i in range(5):
            pcm = rng.integers(-1000, 1000, size=(320, 1)).astype(np.int16)
            await self.emit(self.audio, AudioFrame(pcm, 16000, pts=i * 0.02))
            if i == 2:
                await self.send_event(SpeechStarted(pts=0.04), self.audio)
            await self.clock.sleep(0.02)


class Level(Node):
    audio: In[AudioFrame]
    text: Out[TextFrame]

    async def on_audio(self, frame: AudioFrame) -> None:
        rms = float(np.sqrt(np.mean(frame.pcm.astype(np.float64) ** 2)))
        await self.emit(self.text, TextFrame(f"{frame.pts:.2f}:{rms:.3f}@{self.clock.now():.2f}"))


class Collect(Node):
    inp: In[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.got.append(frame.text)


def build() -> tuple[Graph, Collect]:
    sink = Collect()
    with Graph() as g:
        Mic() >> Level() >> sink
    return g, sink


async def test_trace_records_frames_and_events_to_jsonl(tmp_path: Path) -> None:
    g, _ = build()
    path = tmp_path / "run.jsonl"
    await Runner(g, clock=VirtualClock(), trace=Trace(path)).run()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = [(r["kind"], r["type"], r["edge"]) for r in records]
    assert kinds.count(("frame", "AudioFrame", "mic.audio -> level.audio")) == 5
    assert kinds.count(("frame", "TextFrame", "level.text -> collect.inp")) == 5
    assert ("event", "SpeechStarted", "mic.audio -> level.audio") in kinds
    assert [r["seq"] for r in records] == list(range(len(records)))


async def test_replaying_a_trace_reproduces_the_run(tmp_path: Path) -> None:
    g, sink = build()
    path = tmp_path / "run.jsonl"
    await Runner(g, clock=VirtualClock(), trace=Trace(path, frames=True)).run()
    original = list(sink.got)

    g2, sink2 = build()
    await Runner(g2, clock=VirtualClock(), replay={"mic": path}).run()
    assert sink2.got == original
    assert len(load_trace(path)) > 10
