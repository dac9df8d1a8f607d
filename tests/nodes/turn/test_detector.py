"""TurnDetector under the virtual clock: endpointing delays, the text heuristic, barge-in."""

from __future__ import annotations

from typing import Any

import numpy as np

from voicegraph.graph import (
    AudioFrame,
    Control,
    Graph,
    In,
    Node,
    NodeConfig,
    Out,
    PlayoutMark,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    UserTurn,
)
from voicegraph.nodes.turn import TurnDetector, end_of_turn_probability
from voicegraph.runner import Runner, VirtualClock

SILENCE = np.zeros((320, 1), np.int16)


class Script(NodeConfig):
    seconds: float = 6.0
    speech: list[tuple[float, float]] = []  # (start, stop) media times
    transcripts: list[tuple[float, str]] = []  # (arrival media time, text)


class FakeVAD(Node):
    """Paced 20 ms frames with VAD events and transcripts at scripted media times."""

    Config = Script
    config: Script
    audio: Out[AudioFrame]
    transcripts: Out[Transcript]

    async def run(self) -> None:
        events: list[tuple[float, Any]] = []
        for start, stop in self.config.speech:
            events += [(start, SpeechStarted(start)), (stop, SpeechStopped(stop, stop - start))]
        events += [(t, Transcript(text, start=t - 1, end=t)) for t, text in self.config.transcripts]
        events.sort(key=lambda e: e[0])
        for i in range(int(self.config.seconds * 50)):
            pts = i * 0.02
            while events and events[0][0] <= pts:
                _, item = events.pop(0)
                if isinstance(item, Transcript):
                    await self.emit(self.transcripts, item)
                else:
                    await self.send_event(item, self.audio)
            await self.emit(self.audio, AudioFrame(SILENCE, 16000, pts=pts))
            await self.clock.sleep_until(pts + 0.02)


class FakeAgent(Node):
    """Speaks every turn for ``reply_seconds``, reporting playout marks back to the detector."""

    class Config(NodeConfig):
        reply_seconds: float = 3.0

    config: Config
    turns: In[UserTurn]
    marks: Out[Control]

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.heard: list[tuple[str, float]] = []
        self.cut: list[float] = []
        self._started = 0.0

    async def on_turns(self, frame: UserTurn) -> None:
        self.heard.append((frame.text, self.clock.now()))
        self._started = self.clock.now()
        await self.send_event(PlayoutMark(0.0), self.marks)
        await self.clock.sleep(self.config.reply_seconds)
        await self.send_event(PlayoutMark(self.config.reply_seconds, final=True), self.marks)

    async def on_interrupt(self, event: Any) -> None:
        self.cut.append(self.clock.now())
        played = self.clock.now() - self._started
        await self.send_event(PlayoutMark(played, interrupted=True), self.marks)


def run(script: Script, **turn_settings: Any) -> tuple[TurnDetector, FakeAgent]:
    g = Graph()
    vad = g.add(FakeVAD(script))
    turn = g.add(TurnDetector(**turn_settings), name="turn")
    agent = g.add(FakeAgent(), name="agent")
    g.connect(vad.audio, turn.audio)
    g.connect(vad.transcripts, turn.transcripts)
    g.connect(turn.turns, agent.turns)
    g.connect(agent.marks, turn.playout, feedback=True)

    import anyio

    anyio.run(Runner(g, clock=VirtualClock()).run)
    return turn, agent


def test_heuristic() -> None:
    assert end_of_turn_probability("") == 0.0
    assert end_of_turn_probability("I'd like a table for two and") < 0.15
    assert end_of_turn_probability("um,") < 0.15
    assert end_of_turn_probability("Is it raining?") > 0.9
    assert 0.5 < end_of_turn_probability("Book it.") < 0.9


def test_end_of_turn_after_min_delay() -> None:
    script = Script(speech=[(1.0, 2.0)], transcripts=[(2.2, "What is the weather?")])
    turn, agent = run(script)
    (decision,) = turn.decisions
    assert decision.delay == 0.5
    assert abs(decision.end_of_utterance_delay - 0.5) <= 0.021
    assert agent.heard[0][0] == "What is the weather?"


def test_unlikely_end_waits_for_max_delay() -> None:
    script = Script(speech=[(1.0, 2.0)], transcripts=[(2.2, "I want to book a table and")])
    turn, _ = run(script)
    (decision,) = turn.decisions
    assert decision.delay == 3.0 and abs(decision.decided_at - 5.0) <= 0.021


def test_user_going_on_within_the_delay_makes_one_turn() -> None:
    script = Script(
        speech=[(1.0, 2.0), (3.0, 4.0)],
        transcripts=[(2.1, "I want to book a table and"), (4.1, "for two people please.")],
    )
    turn, agent = run(script, max_endpointing_delay=1.5)
    assert [d.text for d in turn.decisions] == ["I want to book a table and for two people please."]
    assert len(agent.heard) == 1


def test_late_transcript_commits_on_arrival() -> None:
    script = Script(speech=[(1.0, 2.0)], transcripts=[(3.4, "Hello there.")])
    turn, _ = run(script)
    (decision,) = turn.decisions
    assert abs(decision.decided_at - 3.4) <= 0.021  # delay already passed: commit at once


def test_barge_in_interrupts_the_agent_after_min_duration() -> None:
    script = Script(
        seconds=8.0,
        speech=[(0.5, 1.0), (3.0, 4.2)],
        transcripts=[(1.1, "Tell me a story."), (4.3, "Stop.")],
    )
    turn, agent = run(script)
    assert turn.interruptions and abs(turn.interruptions[0] - 3.5) <= 0.021
    assert agent.cut and abs(agent.cut[0] - 3.5) <= 0.03
    assert [text for text, _ in agent.heard] == ["Tell me a story.", "Stop."]


def test_backchannel_below_thresholds_does_not_interrupt() -> None:
    script = Script(
        seconds=8.0,
        speech=[(0.5, 1.0), (3.0, 3.3)],
        transcripts=[(1.1, "Tell me a story."), (3.4, "Uh-huh.")],
    )
    turn, agent = run(script)
    assert not turn.interruptions and not agent.cut
    assert turn.ignored == ["Uh-huh."]
    assert [text for text, _ in agent.heard] == ["Tell me a story."]


def test_interruptions_can_be_disabled() -> None:
    script = Script(
        seconds=8.0,
        speech=[(0.5, 1.0), (3.0, 4.2)],
        transcripts=[(1.1, "Tell me a story."), (4.3, "Stop.")],
    )
    turn, agent = run(script, allow_interruptions=False)
    assert not turn.interruptions and not agent.cut
