"""TurnDetector under the virtual clock: endpointing delays, the text heuristic, barge-in,
turn engines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt
import pytest

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
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
    graph_from_dict,
    graph_to_dict,
)
from voicegraph.nodes.turn import (
    HeuristicTurn,
    TurnDetector,
    TurnEngine,
    end_of_turn_probability,
)
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
    anyio.run(Runner(g, clock=VirtualClock()).run)
    return turn, agent


def test_heuristic() -> None:
    assert end_of_turn_probability("") == 0.0
    assert end_of_turn_probability("I'd like a table for two and") < 0.15
    assert end_of_turn_probability("um,") < 0.15
    assert end_of_turn_probability("Is it raining?") > 0.9
    assert 0.5 < end_of_turn_probability("Book it.") < 0.9


def test_a_question_without_its_question_mark_is_still_a_question() -> None:
    # Whisper often writes "." for a spoken question: its wording still says it asks
    for asked in ("who wrote Romeo and Juliet.", "Can you recommend a good book.",
                  "I'm hungry. Where can I eat!", "How far away is the moon."):  # fmt: skip
        assert end_of_turn_probability(asked) > 0.9, asked
    for told in ("I can do that.", "Where I live, it rains.", "Who I am is my business",
                 "How do I get to the", "Is it."):  # fmt: skip
        assert end_of_turn_probability(told) < 0.9, told


def test_end_of_turn_after_min_delay() -> None:
    script = Script(speech=[(1.0, 2.0)], transcripts=[(2.2, "Tell me the weather.")])
    turn, agent = run(script)
    (decision,) = turn.decisions
    assert decision.delay == 0.45
    assert abs(decision.end_of_utterance_delay - 0.45) <= 0.021
    assert agent.heard[0][0] == "Tell me the weather."


def test_a_question_ends_the_turn_after_the_quick_delay() -> None:
    script = Script(speech=[(1.0, 2.0)], transcripts=[(2.02, "What is the weather?")])
    turn, _ = run(script)
    (decision,) = turn.decisions
    assert decision.delay == 0.05 and decision.decided_at == pytest.approx(2.06, abs=0.021)
    slow = run(script, quick_endpointing_delay=None)[0].decisions[0]
    assert slow.delay == 0.45  # switched off: a question waits like any finished sentence
    never = run(script, likely_threshold=1.0)[0].decisions[0]
    assert never.delay == 0.45


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


# ------------------------------------------------------------------ engines


class Unsure(TurnEngine):
    """Always says the user is probably going on; records what it was asked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[str, int | None]] = []
        self.starts = self.closes = 0

    async def start(self) -> None:
        self.starts += 1

    async def aclose(self) -> None:
        self.closes += 1

    async def end_of_turn_probability(
        self,
        text: str,
        *,
        audio: npt.NDArray[np.int16] | None = None,
        chat: Sequence[tuple[str, str]] | None = None,
    ) -> float:
        self.asked.append((text, None if audio is None else len(audio)))
        return 0.0


class Listening(Unsure):
    uses_audio = True
    audio_seconds = 1.0


def test_the_engine_decides_and_is_asked_once_per_text() -> None:
    engine = Unsure()
    script = Script(speech=[(1.0, 2.0)], transcripts=[(2.2, "What is the weather?")])
    turn, _ = run(script, engine=engine)
    (decision,) = turn.decisions
    # the heuristic would say 0.95 (min delay); this engine makes the detector wait max delay
    assert (decision.delay, decision.probability) == (3.0, 0.0)
    assert abs(decision.decided_at - 5.0) <= 0.021
    assert engine.asked == [("What is the weather?", None)]  # not once per audio frame
    assert (engine.starts, engine.closes) == (1, 1) and turn.engine is engine


def test_an_audio_engine_gets_the_last_audio_seconds() -> None:
    engine = Listening()
    script = Script(speech=[(1.0, 2.0)], transcripts=[(2.2, "What is the weather?")])
    run(script, engine=engine)
    assert engine.asked == [("What is the weather?", 16000)]


class SwapAgent(FakeAgent):
    """Swaps the detector's engine when the first turn arrives."""

    host: TurnDetector
    engine: TurnEngine | None

    async def on_turns(self, frame: UserTurn) -> None:
        if not self.heard:
            type(self).host.set_engine(type(self).engine)
        await super().on_turns(frame)


def test_set_engine_applies_from_the_next_turn_and_engines_close_with_the_host() -> None:
    mine, theirs = Unsure(), Unsure()
    script = Script(
        seconds=12.0,
        speech=[(1.0, 2.0), (6.0, 7.0)],
        transcripts=[(2.1, "What is the weather?"), (7.1, "Book it.")],
    )
    g = Graph()
    vad = g.add(FakeVAD(script))
    turn = g.add(TurnDetector(engine=mine, max_endpointing_delay=2.0), name="turn")
    agent = g.add(SwapAgent(reply_seconds=1.0), name="agent")
    SwapAgent.host, SwapAgent.engine = turn, theirs
    g.connect(vad.audio, turn.audio)
    g.connect(vad.transcripts, turn.transcripts)
    g.connect(turn.turns, agent.turns)
    g.connect(agent.marks, turn.playout, feedback=True)
    anyio.run(Runner(g, clock=VirtualClock()).run)
    assert [d.text for d in turn.decisions] == ["What is the weather?", "Book it."]
    assert [t for t, _ in mine.asked] == ["What is the weather?"]
    assert [t for t, _ in theirs.asked] == ["Book it."]
    assert (mine.starts, mine.closes, theirs.starts, theirs.closes) == (1, 1, 1, 1)
    turn.set_engine(None)
    assert turn.engine is mine


def test_default_engine_check_engine_and_the_interface() -> None:
    turn = TurnDetector()
    assert isinstance(turn.engine, HeuristicTurn)
    with pytest.raises(ConfigError, match="expected a TurnEngine.*got str"):
        turn.check_engine("smart turn")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="expected a TurnEngine"):
        TurnDetector(engine=HeuristicTurn)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="must implement end_of_turn_probability"):
        anyio.run(TurnEngine().end_of_turn_probability, "hi")
    assert anyio.run(HeuristicTurn().end_of_turn_probability, "um,") == 0.05


def test_graph_file_stores_the_engine_under_parts() -> None:
    g = Graph()
    g.add(TurnDetector(min_endpointing_delay=0.7))
    data = graph_to_dict(g)
    (node,) = data["nodes"]
    heuristic = {"type": "voicegraph.nodes.turn:HeuristicTurn", "config": {}}
    assert node["parts"] == {"engine": heuristic}
    loaded = graph_from_dict(data)
    (turn,) = loaded.members
    assert isinstance(turn, TurnDetector) and isinstance(turn.engine, HeuristicTurn)
    assert turn.config.min_endpointing_delay == 0.7
    assert graph_to_dict(loaded) == data
