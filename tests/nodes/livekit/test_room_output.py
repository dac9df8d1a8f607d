"""RoomOutput through a real local track: the room hears the reply, playout marks report it,
an interrupt silences the room within a frame, other rates are resampled, captions follow."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import numpy as np
import pytest
from livekit import rtc

from voicegraph.graph import (
    ConfigError,
    Control,
    Event,
    Graph,
    In,
    Node,
    NodeConfig,
    Out,
    PlayoutMark,
    SpeechAudio,
    TextFrame,
)
from voicegraph.nodes.livekit import RoomOutput, RoomTranscript
from voicegraph.runner import Runner
from voicegraph.runner.worker import LocalRoom

LEVEL = 3000


class Start(Node):
    """Says "go" once: the origin of interrupts (everything after it is in scope)."""

    go: Out[TextFrame]

    async def run(self) -> None:
        await self.emit(self.go, TextFrame("go"))


class Reply(Node):
    """On "go", emits sentences as SpeechAudio frames (``rate``, ``channels``, ``frame_ms``)."""

    class Config(NodeConfig):
        sentences: list[tuple[str, float]] = [("Hello there.", 0.3), ("How are you today?", 0.4)]
        rate: int = 24000
        channels: int = 1
        frame_ms: int = 20

    config: Config
    go: In[TextFrame]
    audio: Out[SpeechAudio]

    async def on_go(self, frame: TextFrame) -> None:
        cfg = self.config
        step = cfg.rate * cfg.frame_ms // 1000
        pts = 0.0
        for n, (text, seconds) in enumerate(cfg.sentences):
            total = round(seconds * cfg.rate)
            for i in range(0, total, step):
                pcm = np.full((min(step, total - i), cfg.channels), LEVEL, np.int16)
                last = n == len(cfg.sentences) - 1 and i + step >= total
                frame = SpeechAudio(
                    pcm, cfg.rate, pts, text=text, offset=i / cfg.rate, text_duration=seconds,
                    final=last,
                )  # fmt: skip
                await self.emit(self.audio, frame)
                pts += frame.duration


class Marks(Node):
    marks: In[Control]
    forward_events = False

    def __init__(self) -> None:
        super().__init__()
        self.got: list[PlayoutMark] = []

    async def on_event(self, event: Event) -> None:
        if isinstance(event, PlayoutMark):
            self.got.append(event)


class Listener:
    """Reads the agent's published track; records when each loud frame arrived."""

    def __init__(self, track: Any) -> None:
        self.stream = rtc.AudioStream.from_track(track=track, sample_rate=24000, num_channels=1)
        self.loud: list[tuple[float, float]] = []  # (arrival, seconds)

    async def run(self) -> None:
        try:
            async for event in self.stream:
                pcm = np.frombuffer(event.frame.data, np.int16)
                if np.abs(pcm).max() > LEVEL // 2:
                    self.loud.append((time.monotonic(), event.frame.samples_per_channel / 24000))
        finally:
            with anyio.CancelScope(shield=True):
                await self.stream.aclose()

    @property
    def heard(self) -> float:
        return sum(s for _, s in self.loud)


@asynccontextmanager
async def playing(reply: Reply, output: RoomOutput, *extra: Node) -> AsyncIterator[Runner]:
    g = Graph()
    marks, start = Marks(), Start()
    g.add(start, name="start")
    g.add(reply, name="reply")
    g.connect(start.go, reply.go)
    g.add(output, name="output")
    g.add(marks, name="marks")
    g.connect(reply.audio, output.audio)
    g.connect(output.marks, marks.marks)
    for node in extra:
        g.add(node, name=type(node).__name__.lower())
        g.connect(output.marks, node.agent)  # type: ignore[attr-defined]
    async with Runner(g) as runner:
        yield runner


def marks_of(runner: Runner) -> list[PlayoutMark]:
    node = runner.drivers["marks"].node
    assert isinstance(node, Marks)
    return node.got


async def test_the_room_hears_the_reply_and_marks_report_it() -> None:
    room = LocalRoom("r")
    output = RoomOutput(room=room)
    async with anyio.create_task_group() as tg, playing(Reply(), output) as runner:
        assert output.track_sid in room.local_participant.track_publications
        listener = Listener(output.track)
        tg.start_soon(listener.run)
        with anyio.fail_after(5):
            await runner.wait()
        await anyio.sleep(0.1)
        tg.cancel_scope.cancel()
    marks = marks_of(runner)
    assert [(m.text, m.final) for m in marks] == [
        ("", False),
        ("Hello there.", False),
        ("Hello there. How are you today?", True),
    ]
    assert marks[-1].played == pytest.approx(0.7)
    assert listener.heard == pytest.approx(0.7, abs=0.03)
    assert output.played_replies[-1] == (
        "Hello there. How are you today?",
        pytest.approx(0.7),
        False,
    )
    assert output.track_sid not in room.local_participant.track_publications  # unpublished


async def test_an_interrupt_silences_the_room_within_a_frame() -> None:
    room = LocalRoom("r")
    output = RoomOutput(room=room)
    reply = Reply(sentences=[("one two three four five six seven eight nine ten", 2.0)])
    async with anyio.create_task_group() as tg, playing(reply, output) as runner:
        listener = Listener(output.track)
        tg.start_soon(listener.run)
        with anyio.fail_after(5):
            while listener.heard < 0.5:
                await anyio.sleep(0.005)
        runner.interrupt("start", reason="barge-in")
        await anyio.sleep(0.3)
        runner.stop()
        tg.cancel_scope.cancel()
    mark = marks_of(runner)[-1]
    assert mark.interrupted and 0.45 < mark.played < 0.65
    words = mark.text.split()
    assert (
        words
        == ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"][
            : len(words)
        ]
    )
    assert 2 <= len(words) <= 3  # ~0.5 s of a 2 s sentence of ten words
    # the room heard what the mark reports, give or take the 20 ms chunk and 10 ms frame in
    # flight: nothing queued in the source played after the interrupt
    assert -0.03 <= listener.heard - mark.played <= 0.035


async def test_other_rates_and_channels_are_converted() -> None:
    room = LocalRoom("r")
    output = RoomOutput(room=room, sample_rate=48000)
    reply = Reply(rate=16000, channels=2, frame_ms=60, sentences=[("Fine.", 0.42)])
    async with anyio.create_task_group() as tg, playing(reply, output) as runner:
        listener = Listener(output.track)
        tg.start_soon(listener.run)
        with anyio.fail_after(5):
            await runner.wait()
        await anyio.sleep(0.1)
        tg.cancel_scope.cancel()
    assert listener.heard == pytest.approx(0.42, abs=0.03)
    assert marks_of(runner)[-1].final


async def test_captions_follow_playout_and_stop_at_the_words_heard() -> None:
    room = LocalRoom("r")
    output = RoomOutput(room=room)
    captions = RoomTranscript(room=room, room_output=output)
    reply = Reply(sentences=[("Hi.", 0.2), ("one two three four five six seven eight", 1.6)])
    async with playing(reply, output, captions) as runner:
        with anyio.fail_after(5):
            while not any(m.text == "Hi." for m in marks_of(runner)):
                await anyio.sleep(0.005)
        await anyio.sleep(0.45)
        runner.interrupt("start")
        await anyio.sleep(0.05)
        runner.stop()
    [caption] = room.texts
    heard = marks_of(runner)[-1].text
    assert caption.text == heard and caption.chunks[0] == "Hi."
    assert heard.startswith("Hi. one two") and len(heard.split()) < 7
    assert caption.topic == "lk.transcription"
    assert caption.attributes["lk.transcription_final"] == "true"
    assert caption.attributes["lk.transcribed_track_id"] == output.track_sid


def test_buffer_must_fit_the_source_queue() -> None:
    with pytest.raises(ConfigError, match="must fit in queue_ms"):
        RoomOutput(buffer=0.5, queue_ms=200)
