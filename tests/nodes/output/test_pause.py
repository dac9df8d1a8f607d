"""AudioOutput pause/resume (false interruptions) and the runner's holding of a paused node."""

from __future__ import annotations

from typing import Any

import anyio
import numpy as np
import pytest

from voicegraph.graph import Control, Event, Graph, In, Node, Out, PlayoutMark, SpeechAudio
from voicegraph.nodes.output import AudioOutput, PausePlayout, ResumePlayout
from voicegraph.runner import Runner, VirtualClock

RATE = 16000


def frames(seconds: float, text: str = "One two three four.") -> list[SpeechAudio]:
    count = round(seconds * 50)
    return [
        SpeechAudio(
            np.full((RATE // 50, 1), 500, np.int16), RATE, text=text, offset=i * 0.02,
            text_duration=count * 0.02, final=i == count - 1,
        )
        for i in range(count)
    ]  # fmt: skip


class Feed(Node):
    audio: Out[SpeechAudio]
    control: Out[Control]

    def __init__(self, events: list[tuple[float, Event]], interrupt_at: float | None = None):
        super().__init__()
        self.events = events
        self.interrupt_at = interrupt_at

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._control)
            for frame in frames(1.0):
                await self.emit(self.audio, frame)

    async def _control(self) -> None:
        for at, event in self.events:
            await self.clock.sleep_until(at)
            await self.send_event(event, self.control)
        if self.interrupt_at is not None:
            await self.clock.sleep_until(self.interrupt_at)
            self.interrupt("barge-in")


class Marks(Node):
    marks: In[Control]
    forward_events = False

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[float, PlayoutMark]] = []

    async def on_marks(self, frame: Control) -> None:
        """Events only."""

    async def on_event(self, event: Event) -> None:
        if isinstance(event, PlayoutMark):
            self.got.append((round(self.clock.now(), 3), event))


class SlowRelay(Node):
    """Passes control events on 0.5 s late, as the LLM and TTS do when they are busy."""

    control: In[Control]
    audio: Out[SpeechAudio]

    async def on_control(self, frame: Control) -> None:
        """Events only."""

    async def on_event(self, event: Event) -> None:
        await self.clock.sleep(0.5)
        await super().on_event(event)


def play(
    events: list[tuple[float, Event]], interrupt_at: float | None = None, *, two_paths: bool = False
) -> Any:
    g = Graph()
    feed = g.add(Feed(events, interrupt_at), name="feed")
    out = g.add(AudioOutput(), name="out")
    marks = g.add(Marks(), name="marks")
    g.connect(feed.audio, out.audio)
    g.connect(feed.control, out.control)
    if two_paths:  # each event also reaches ``audio``, late, as in the voice pipeline
        relay = g.add(SlowRelay(), name="relay")
        g.connect(feed.control, relay.control)
        g.connect(relay.audio, out.audio)
    g.connect(out.marks, marks.marks)
    anyio.run(Runner(g, clock=VirtualClock()).run)
    return out, marks.got


def test_pause_then_resume_delays_the_rest_of_the_reply() -> None:
    out, got = play([(0.3, PausePlayout(1)), (1.3, ResumePlayout(2))])
    final = got[-1]
    assert final[1].final and not final[1].interrupted
    assert final[0] == 2.0  # 1 s of audio + 1 s of pause
    assert final[1].played == pytest.approx(1.0)
    assert list(out.pauses) == [(0.3, 1.3)]


def test_a_late_copy_by_another_path_does_not_pause_again() -> None:
    # pause at 0.3, resume at 0.5 on ``control``; the copies reach ``audio`` at 0.8 and 1.3
    out, got = play([(0.3, PausePlayout(1)), (0.5, ResumePlayout(2))], two_paths=True)
    assert got[-1][0] == 1.2 and got[-1][1].final  # 1 s of audio + 0.2 s of pause, only
    assert list(out.pauses) == [(0.3, 0.5)]


def test_separate_pauses_each_apply_even_when_equal() -> None:
    pause = PausePlayout()  # the same object sent twice is two sends, not a copy
    out, got = play([(0.2, pause), (0.3, ResumePlayout()), (0.5, pause), (0.7, ResumePlayout())])
    (start1, end1), (start2, end2) = out.pauses  # each starts at the end of a 20 ms frame
    assert 0.2 <= start1 <= 0.22 + 1e-9 and end1 == 0.3
    assert 0.5 <= start2 <= 0.52 + 1e-9 and end2 == 0.7
    paused = end1 - start1 + end2 - start2
    assert got[-1][0] == pytest.approx(1.0 + paused, abs=1e-3) and got[-1][1].final


def test_idle_events_are_ignored() -> None:
    out, got = play([(1.5, PausePlayout()), (1.6, ResumePlayout())])
    assert not out.pauses and got[-1][0] == 1.0 and got[-1][1].final


def test_an_interrupt_during_a_pause_reports_what_played_before_it() -> None:
    out, got = play([(0.4, PausePlayout(1))], interrupt_at=0.9)
    ((at, cut),) = [(t, m) for t, m in got if m.interrupted]
    assert at == 0.9 and cut.played == pytest.approx(0.4, abs=0.021)
    assert cut.text == "One"  # 0.4 of 1.0 s of a four-word sentence, whole words
    assert not out.paused
