"""AudioOutput: real-time playout on the clock, playout marks, interrupts, the WAV timeline."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voicegraph.graph import (
    ConfigError,
    Control,
    Event,
    Graph,
    In,
    Node,
    Out,
    PlayoutMark,
    SpeechAudio,
)
from voicegraph.nodes.output import AudioOutput
from voicegraph.runner import Runner, VirtualClock

RATE = 16000
STEP = RATE // 50  # 20 ms

A = "One two three four five."
B = "Six seven eight nine ten."


def reply_frames(sentences: list[tuple[str, float]], rate: int = RATE) -> list[SpeechAudio]:
    """20 ms frames of a tone for each (text, seconds), the last one final."""
    step = rate // 50
    frames = []
    for text, seconds in sentences:
        count = round(seconds * 50)
        for i in range(count):
            pcm = np.full((step, 1), 1000 + i, np.int16)
            frames.append(
                SpeechAudio(pcm, rate, text=text, offset=i * 0.02, text_duration=count * 0.02)
            )
    last = frames[-1]
    frames[-1] = SpeechAudio(
        last.pcm, rate, text=last.text, offset=last.offset, text_duration=last.text_duration,
        final=True,
    )  # fmt: skip
    return frames


class Replies(Node):
    """Emits scripted replies: ("frames", [...]) all at once, or ("sleep", seconds)."""

    audio: Out[SpeechAudio]

    def __init__(self, steps: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.steps = steps

    async def run(self) -> None:
        for kind, arg in self.steps:
            if kind == "sleep":
                await self.clock.sleep(arg)
            else:
                for frame in arg:
                    await self.emit(self.audio, frame)


class Marks(Node):
    """Records (clock time, PlayoutMark)."""

    marks: In[Control]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[float, PlayoutMark]] = []

    async def on_event(self, event: Event) -> None:
        assert isinstance(event, PlayoutMark)
        self.got.append((self.clock.now(), event))


def build(
    steps: list[tuple[str, Any]], capacity: int = 8, **settings: Any
) -> tuple[Graph, AudioOutput, Marks]:
    g = Graph()
    source = g.add(Replies(steps), name="tts")
    out = g.add(AudioOutput(**settings), name="speaker")
    marks = g.add(Marks())
    g.connect(source.audio, out.audio, capacity=capacity)
    g.connect(out.marks, marks.marks)
    return g, out, marks


def summary(marks: Marks) -> list[tuple[float, float, str, bool, bool]]:
    return [(round(t, 6), round(m.played, 6), m.text, m.interrupted, m.final) for t, m in marks.got]


async def test_a_2s_reply_plays_in_2s_of_virtual_time_with_marks() -> None:
    g, out, marks = build([("frames", reply_frames([(A, 1.0), (B, 1.0)]))])
    clock = VirtualClock()
    await Runner(g, clock=clock).run()
    assert clock.now() == pytest.approx(2.0)
    assert summary(marks) == [
        (0.0, 0.0, "", False, False),  # the reply starts
        (1.0, 1.0, A, False, False),  # first sentence played
        (2.0, 2.0, f"{A} {B}", False, True),  # the end (the last sentence's mark)
    ]
    assert list(out.played_replies) == [(f"{A} {B}", pytest.approx(2.0), False)]
    assert list(out.reply_started_at) == [0.0]
    assert out.played_seconds == pytest.approx(2.0)


async def test_replies_start_when_their_audio_arrives() -> None:
    steps = [
        ("sleep", 0.5),
        ("frames", reply_frames([(A, 0.4)])),
        ("sleep", 1.0),
        ("frames", reply_frames([(B, 0.6)])),
    ]
    g, out, marks = build(steps, capacity=100)
    await Runner(g, clock=VirtualClock()).run()
    assert list(out.reply_started_at) == pytest.approx([0.5, 1.5])
    assert [(round(t, 6), m.final) for t, m in marks.got] == [
        (0.5, False),
        (0.9, True),
        (1.5, False),
        (2.1, True),
    ]
    assert [m.epoch for _, m in marks.got] == [0, 0, 0, 0]


async def test_interrupt_stops_within_a_frame_and_reports_the_words_heard() -> None:
    g, out, marks = build([("frames", reply_frames([(A, 1.0), (B, 1.0)]))], capacity=200)
    async with Runner(g, clock=VirtualClock()) as runner:
        await runner.clock.sleep(1.3)
        runner.interrupt("tts", "barge-in")
        stopped = runner.clock.now()
        await runner.wait()
    (t0, start), (t1, first), (t2, cut) = marks.got
    assert (t0, start.played, start.text) == (0.0, 0.0, "")
    assert (t1, first.text) == (pytest.approx(1.0), A)
    assert cut.interrupted and not cut.final
    assert t2 == pytest.approx(stopped)  # reported at once
    assert 1.3 - 0.02 <= cut.played <= 1.3 + 0.02
    # 0.3 s of B's 1.0 s were heard: the first 30% of its five words, rounded down
    assert cut.text == f"{A} Six"
    assert out.played_seconds <= 1.3 + 0.02
    assert list(out.played_replies) == [(f"{A} Six", pytest.approx(cut.played), True)]


async def test_interrupt_when_idle_sends_no_mark_and_the_next_reply_plays() -> None:
    steps = [
        ("frames", reply_frames([(A, 0.2)])),
        ("sleep", 1.0),
        ("frames", reply_frames([(B, 0.2)])),
    ]
    g, out, marks = build(steps)
    async with Runner(g, clock=VirtualClock()) as runner:
        await runner.clock.sleep(0.5)
        runner.interrupt("tts")
        await runner.wait()
    assert [m.interrupted for _, m in marks.got] == [False] * 4
    assert [text for text, _, _ in out.played_replies] == [A, B]
    assert [m.epoch for _, m in marks.got] == [0, 0, 1, 1]


async def test_buffered_audio_is_dropped_on_interrupt() -> None:
    frames = reply_frames([(A, 1.0), (B, 1.0)])
    g, out, marks = build([("frames", frames)], capacity=200, buffer=0.2)
    async with Runner(g, clock=VirtualClock()) as runner:
        await runner.clock.sleep(0.51)
        runner.interrupt("tts")
        await runner.wait()
    cut = marks.got[-1][1]
    assert cut.interrupted and cut.played == pytest.approx(0.51)
    assert cut.text == "One two"  # 51% of five words
    assert out.played_seconds == pytest.approx(0.51)


async def test_a_reply_without_a_final_frame_ends_at_end_of_input() -> None:
    frames = reply_frames([(A, 0.2)])
    frames[-1] = SpeechAudio(
        frames[-1].pcm, RATE, text=A, offset=frames[-1].offset, text_duration=0.2
    )
    g, _, marks = build([("frames", frames)])
    await Runner(g, clock=VirtualClock()).run()
    assert marks.got[-1][1].final and marks.got[-1][1].text == A


async def test_recording_lines_up_with_the_clock(tmp_path: Path) -> None:
    path = tmp_path / "reply.wav"
    steps = [
        ("sleep", 0.5),
        ("frames", reply_frames([(A, 1.0)], rate=24000)),
        ("sleep", 2.5),  # the run ends at 3.0 s
    ]
    g, _, _ = build(steps, capacity=100, path=str(path))
    clock = VirtualClock()
    await Runner(g, clock=clock).run()
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert len(pcm) == round(clock.now() * 24000) == 3 * 24000
    sound = np.nonzero(pcm)[0]
    assert (sound[0], sound[-1] + 1) == (12000, 36000)  # 0.5 s .. 1.5 s


async def test_recording_of_an_interrupted_reply_stops_where_playback_stopped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cut.wav"
    steps = [("frames", reply_frames([(A, 1.0)])), ("sleep", 0.81)]
    g, _, _ = build(steps, capacity=200, path=str(path))
    async with Runner(g, clock=VirtualClock()) as runner:
        await runner.clock.sleep(0.31)
        runner.interrupt("tts")
        await runner.wait()
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert np.nonzero(pcm)[0][-1] + 1 == round(0.31 * RATE)
    assert len(pcm) == round(0.81 * RATE)


def test_a_recording_path_in_a_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        AudioOutput(path=str(tmp_path / "nope" / "out.wav"))
    with pytest.raises(ConfigError, match="buffer"):
        AudioOutput(buffer=-1)


@pytest.mark.parametrize(("late", "ends_at"), [(0.043, 0.4), (0.07, 0.43)])
async def test_timer_jitter_is_absorbed_but_a_real_gap_is_a_pause(
    late: float, ends_at: float
) -> None:
    frames = reply_frames([(A, 0.2), (B, 0.2)])
    steps = [("frames", frames[:10]), ("sleep", late), ("frames", frames[10:])]
    g, _, marks = build(steps, capacity=1)
    clock = VirtualClock()
    await Runner(g, clock=clock).run()
    # with capacity 1 the source sends A's last frame at 0.16 s; B's first frame then comes
    # `late - 0.04` s after A has ended: 3 ms is jitter, 30 ms a pause
    assert clock.now() == pytest.approx(ends_at)
    assert marks.got[-1][1].played == pytest.approx(0.4)


async def test_a_second_run_keeps_only_its_own_timeline_events() -> None:
    """timeline_events are the run's (viz sorts them by the bus seq, which restarts at 1)."""
    g, out, _ = build([("frames", reply_frames([(A, 1.0)]))])
    for _ in range(2):
        await Runner(g, clock=VirtualClock()).run()
        names = [type(e).__name__ for e in out.timeline_events]
        assert names == ["ReplyStarted", "ReplyPlayed"]
        assert [e.seq for e in out.timeline_events] == sorted({e.seq for e in out.timeline_events})
