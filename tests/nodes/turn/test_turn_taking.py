"""TurnDetector: false interruptions (pause, resume), preflight turns, discarded speech."""

from __future__ import annotations

from typing import Any

import anyio
import numpy as np
import pytest

from voicegraph.graph import (
    AudioFrame,
    Control,
    Event,
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
from voicegraph.nodes.output import PausePlayout, ResumePlayout
from voicegraph.nodes.turn import (
    AllowInterruptions,
    ClearTurn,
    CommitTurn,
    TurnCommand,
    TurnControl,
    TurnDetector,
)
from voicegraph.nodes.vad import SpeechPaused
from voicegraph.runner import Runner, VirtualClock

SILENCE = np.zeros((320, 1), np.int16)


class Script(NodeConfig):
    seconds: float = 8.0
    speech: list[tuple[float, float]] = []  # (start, stop) as the VAD reports them
    quiet: list[float] = []  # SpeechPaused times (the user went quiet inside an utterance)
    transcripts: list[tuple[float, str, float]] = []  # (arrival, text, speech start)
    interims: list[tuple[float, str, float]] = []  # interim ones, the same way


class FakeVAD(Node):
    Config = Script
    config: Script
    audio: Out[AudioFrame]
    transcripts: Out[Transcript]

    async def run(self) -> None:
        events: list[tuple[float, Any]] = []
        for start, stop in self.config.speech:
            events += [(start, SpeechStarted(start)), (stop, SpeechStopped(stop, stop - start))]
        events += [(t, SpeechPaused(t)) for t in self.config.quiet]
        events += [(t, Transcript(x, start=s, end=t)) for t, x, s in self.config.transcripts]
        events += [
            (t, Transcript(x, final=False, start=s, end=t)) for t, x, s in self.config.interims
        ]
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


class Agent(Node):
    """Speaks each turn for 6 s (a handler that sleeps: events reach it between turns);
    records preflights."""

    turns: In[UserTurn]
    preflight: In[UserTurn] = In(required=False)
    control: In[Control] = In(required=False)
    marks: Out[Control]
    forward_events = False

    def __init__(self, speak_at: float | None = None) -> None:
        super().__init__()
        self.heard: list[str] = []
        self.preflights: list[tuple[float, str]] = []
        self.commands: list[tuple[float, str]] = []
        self.cut: list[float] = []
        self.speak_at = speak_at

    async def on_turns(self, frame: UserTurn) -> None:
        self.heard.append(frame.text)
        await self.send_event(PlayoutMark(0.0), self.marks)
        await self.clock.sleep(6.0)
        await self.send_event(PlayoutMark(6.0, final=True), self.marks)

    async def on_preflight(self, frame: UserTurn) -> None:
        self.preflights.append((round(self.clock.now(), 2), frame.text))

    async def on_control(self, frame: Control) -> None:
        """Events only."""

    async def on_event(self, event: Event) -> None:
        if isinstance(event, PausePlayout | ResumePlayout):
            self.commands.append((round(self.clock.now(), 2), type(event).__name__))

    async def on_interrupt(self, event: Any) -> None:
        self.cut.append(round(self.clock.now(), 2))
        await self.send_event(PlayoutMark(1.0, interrupted=True), self.marks)


def run(script: Script, **settings: Any) -> tuple[TurnDetector, Agent]:
    g = Graph()
    vad = g.add(FakeVAD(script))
    turn = g.add(TurnDetector(**settings), name="turn")
    agent = g.add(Agent(), name="agent")
    g.connect(vad.audio, turn.audio)
    g.connect(vad.transcripts, turn.transcripts)
    g.connect(turn.turns, agent.turns)
    g.connect(turn.preflight, agent.preflight)
    g.connect(turn.playout_control, agent.control)
    g.connect(agent.marks, turn.playout, feedback=True)
    anyio.run(Runner(g, clock=VirtualClock()).run)
    return turn, agent


STORY = [(0.5, 1.0)]
ASK = (1.1, "Tell me a story.", 0.5)


def test_speech_without_words_pauses_then_resumes() -> None:
    script = Script(speech=[*STORY, (2.5, 3.3)], transcripts=[ASK])
    turn, agent = run(script, false_interruption_timeout=2.0)
    assert turn.pauses == [3.0] and turn.resumes == [pytest.approx(5.32)] and not agent.cut
    assert not turn.interruptions
    # the commands went out on every output (the agent, here, takes them after its turn)
    assert {name for _, name in agent.commands} == {"PausePlayout", "ResumePlayout"}


def test_words_during_a_pause_make_it_a_real_interruption() -> None:
    script = Script(
        speech=[*STORY, (2.5, 3.3)],
        transcripts=[ASK, (3.4, "Stop please.", 2.5)],
    )
    turn, agent = run(script, false_interruption_timeout=2.0)
    assert turn.pauses == [3.0] and turn.resumes == []
    assert agent.cut == [3.4] and turn.interruptions == [pytest.approx(3.4)]
    assert agent.heard == ["Tell me a story.", "Stop please."]


def test_the_vad_hangover_does_not_count_as_speech() -> None:
    # 0.3 s of speech, then quiet; the VAD only reports the end 0.55 s later
    script = Script(
        speech=[*STORY, (2.5, 3.35)], quiet=[2.8], transcripts=[ASK, (3.4, "Uh-huh.", 2.5)]
    )
    turn, agent = run(script)
    assert not turn.interruptions and not agent.cut and turn.ignored == ["Uh-huh."]


def test_preflight_comes_before_the_endpointing_delay() -> None:
    script = Script(speech=[(0.5, 1.0)], transcripts=[(1.1, "Tell me the time.", 0.5)])
    turn, agent = run(script)
    assert agent.preflights == [(1.1, "Tell me the time.")]  # with the transcript
    assert turn.decisions[0].decided_at == pytest.approx(1.46)  # the turn, 0.36 s later


def test_interim_words_during_a_pause_are_a_preflight_before_the_vad_ends_the_speech() -> None:
    # the VAD reports a pause at 1.1 (its end of speech only at 1.65); an STT transcribing
    # ahead sends interim words at 1.3, then the same words as the final transcript
    script = Script(
        speech=[(0.5, 1.1)],
        quiet=[1.1],
        interims=[(1.3, "What time is it?", 0.5)],
        transcripts=[(1.7, "What time is it?", 0.5)],
    )
    turn, agent = run(script)
    assert agent.preflights == [(1.3, "What time is it?")]  # once: the final is the same
    assert [d.text for d in turn.decisions] == ["What time is it?"]


def test_interim_words_while_the_user_speaks_are_no_preflight() -> None:
    script = Script(speech=[(0.5, 2.0)], interims=[(1.3, "What time", 0.5)])
    turn, agent = run(script)
    assert agent.preflights == [] and turn.decisions == []


def test_a_transcript_of_the_whole_turn_replaces_the_earlier_ones() -> None:
    # the STT transcribes the second segment with the first (turn_context): same start
    script = Script(
        speech=[(0.5, 1.5), (1.8, 3.0)],
        transcripts=[(1.6, "Book a table", 0.5), (3.1, "Book a table for two.", 0.5)],
    )
    turn, agent = run(script)
    assert [d.text for d in turn.decisions] == ["Book a table for two."]
    assert agent.heard == ["Book a table for two."]


def test_speech_during_an_uninterruptible_reply_is_discarded() -> None:
    script = Script(speech=[*STORY, (2.0, 2.8)], transcripts=[ASK, (2.9, "Hello?", 2.0)])
    g_turn = TurnDetector()
    g_turn.set_interruptions_allowed(False)
    g = Graph()
    vad = g.add(FakeVAD(script))
    turn = g.add(g_turn, name="turn")
    agent = g.add(Agent(), name="agent")
    g.connect(vad.audio, turn.audio)
    g.connect(vad.transcripts, turn.transcripts)
    g.connect(turn.turns, agent.turns)
    g.connect(agent.marks, turn.playout, feedback=True)
    anyio.run(Runner(g, clock=VirtualClock()).run)
    assert agent.heard == ["Tell me a story."] and g_turn.ignored == ["Hello?"]
    assert not g_turn.interruptions


# --------------------------------------------------------------------------- commands


class Commander(Node):
    """Sends turn commands at their clock times on ``turn`` (as an agent session's command
    node does); with ``direct``, calls the detector's ``on_command`` instead (the old path)."""

    turn: Out[TurnControl]

    def __init__(
        self, at: list[tuple[float, TurnCommand]], direct: TurnDetector | None = None
    ) -> None:
        super().__init__()
        self.at = at
        self.direct = direct

    async def run(self) -> None:
        for t, command in self.at:
            await self.clock.sleep_until(t)
            if self.direct is not None:
                self.direct.on_command(command)
            else:
                await self.send_event(command, self.turn)


def run_commanded(
    script: Script, at: list[tuple[float, TurnCommand]], *, direct: bool, **settings: Any
) -> tuple[TurnDetector, Agent]:
    g = Graph()
    vad = g.add(FakeVAD(script))
    turn = g.add(TurnDetector(**settings), name="turn")
    agent = g.add(Agent(), name="agent")
    commander = g.add(Commander(at, turn if direct else None), name="commander")
    g.connect(vad.audio, turn.audio)
    g.connect(vad.transcripts, turn.transcripts)
    g.connect(turn.turns, agent.turns)
    g.connect(agent.marks, turn.playout, feedback=True)
    if not direct:
        g.connect(commander.turn, turn.commands, feedback=True)
    anyio.run(Runner(g, clock=VirtualClock()).run)
    return turn, agent


def both_ways(
    script: Script, at: list[tuple[float, TurnCommand]], **settings: Any
) -> tuple[TurnDetector, Agent]:
    """Run with the commands as events on ``commands``; check the direct calls did the same."""
    turn, agent = run_commanded(script, at, direct=False, **settings)
    d_turn, d_agent = run_commanded(script, at, direct=True, **settings)
    assert turn.decisions == d_turn.decisions and turn.ignored == d_turn.ignored
    assert turn.interruptions == d_turn.interruptions and agent.heard == d_agent.heard
    return turn, agent


def test_a_commit_on_commands_ends_a_manual_turn_at_the_next_audio_frame() -> None:
    script = Script(speech=[(0.5, 1.5)], transcripts=[(1.6, "Book a table.", 0.5)])
    turn, agent = both_ways(script, [(3.0, CommitTurn())], mode="manual")
    assert agent.heard == ["Book a table."]
    assert turn.decisions[0].decided_at == pytest.approx(3.0, abs=0.021)
    idle, _ = run_commanded(script, [], direct=False, mode="manual")
    assert [d.decided_at for d in idle.decisions] == [8.0]  # manual: only the end of input


def test_a_commit_waits_for_the_transcript_up_to_its_timeout() -> None:
    script = Script(speech=[(0.5, 1.5)], transcripts=[(4.5, "Late words.", 0.5)])
    turn, agent = both_ways(script, [(2.0, CommitTurn(transcript_timeout=1.0))], mode="manual")
    # gave up at 3.0 with no words: the late words wait for the end of input
    assert [d.decided_at for d in turn.decisions] == [8.0]
    turn, agent = both_ways(script, [(2.0, CommitTurn(transcript_timeout=3.0))], mode="manual")
    assert agent.heard == ["Late words."]
    assert turn.decisions[0].decided_at == pytest.approx(4.5, abs=0.021)


def test_a_clear_on_commands_forgets_what_was_said() -> None:
    script = Script(
        speech=[(0.5, 1.0), (3.0, 3.5)],
        transcripts=[(1.1, "Forget it.", 0.5), (3.6, "Book a table.", 3.0)],
    )
    turn, agent = both_ways(script, [(2.0, ClearTurn()), (5.0, CommitTurn())], mode="manual")
    assert agent.heard == ["Book a table."]
    assert turn.decisions[0].decided_at == pytest.approx(5.0, abs=0.021)


def test_allow_interruptions_on_commands_switches_barge_in() -> None:
    script = Script(
        speech=[*STORY, (2.0, 2.8), (4.0, 4.8)],
        transcripts=[ASK, (2.9, "Hello?", 2.0), (4.9, "Stop.", 4.0)],
    )
    turn, agent = both_ways(
        script, [(0.0, AllowInterruptions(False)), (3.5, AllowInterruptions(True))]
    )
    assert turn.ignored == ["Hello?"]  # said while barge-in was off: discarded
    assert agent.cut == [pytest.approx(4.5, abs=0.021)]  # on again: the user cuts in
    assert agent.heard == ["Tell me a story.", "Stop."]
