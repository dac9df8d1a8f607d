"""``turn_detection="manual"``: the user's turn ends when the app says so (push to talk)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from agent_helpers import RATE, Voice, timeline

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.nodes.turn import (
    AllowInterruptions,
    ClearTurn,
    CommitTurn,
    TurnCommand,
    TurnDetector,
)
from voicegraph.runner import VirtualClock


async def push_to_talk(
    voice: Voice,
    said: list[tuple[float, float, str]],
    actions: list[tuple[float, Callable[[AgentSession[Any]], None]]],
    *,
    seconds: float = 10.0,
    replies: list[str] | None = None,
) -> AgentSession[Any]:
    """Run a manual-turn session; each action runs at its clock time."""
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(texts=[t for _, _, t in said]),
        llm=ScriptedLLM(replies=replies or ["Sure.", "Okay."]),
        tts=ScriptedTTS(),
        clock=VirtualClock(),
        turn_detection="manual",
    )
    pcm = voice.pcm([(s, d) for s, d, _ in said], seconds)
    await session.start(
        Agent(instructions="x"), audio=MemorySource(pcm=pcm, sample_rate=RATE, realtime=True)
    )

    async def act() -> None:
        for at_time, action in actions:
            await session.clock.sleep(at_time - session.clock.now())
            action(session)

    async with anyio.create_task_group() as tg:
        tg.start_soon(act)
        await session.wait()
    return session


def user_turns(session: AgentSession[Any]) -> list[tuple[float, str]]:
    return [(t, d) for t, d in timeline(session, "conversation_item_added") if d.startswith("user")]


async def test_the_turn_waits_for_the_commit(voice: Voice) -> None:
    session = await push_to_talk(
        voice,
        said=[(0.5, 1.5, "Book a table.")],
        actions=[(5.0, lambda s: s.commit_user_turn())],
    )
    # automatic endpointing would have ended the turn at ~2.6 s; here it waits for 5.0
    ((t, _),) = timeline(session, "speech_created")
    assert 5.0 <= t <= 5.04, t
    assert [d for _, d in user_turns(session)] == ["user:Book a table."]
    assert [m.text for m in session.history.messages if m.role == "assistant"] == ["Sure."]


async def test_two_utterances_make_one_turn(voice: Voice) -> None:
    session = await push_to_talk(
        voice,
        said=[(0.5, 1.0, "Book a table"), (3.0, 1.0, "for two.")],
        actions=[(6.0, lambda s: s.commit_user_turn())],
    )
    assert [d for _, d in user_turns(session)] == ["user:Book a table for two."]


async def test_a_commit_while_the_user_speaks_waits_for_the_transcript(voice: Voice) -> None:
    session = await push_to_talk(
        voice,
        said=[(0.5, 2.0, "Book a table.")],
        actions=[(1.5, lambda s: s.commit_user_turn())],
    )
    ((t, _),) = timeline(session, "speech_created")
    assert 2.5 <= t <= 3.1, t  # once the VAD ended the speech (2.5 + its 0.55 s hangover)
    assert [d for _, d in user_turns(session)] == ["user:Book a table."]


async def test_clear_forgets_what_was_said(voice: Voice) -> None:
    session = await push_to_talk(
        voice,
        said=[(0.5, 1.0, "Cancel this."), (4.0, 1.0, "Book a table.")],
        actions=[(3.0, lambda s: s.clear_user_turn()), (7.0, lambda s: s.commit_user_turn())],
    )
    assert [d for _, d in user_turns(session)] == ["user:Book a table."]


async def test_a_commit_with_nothing_said_is_no_turn(voice: Voice) -> None:
    session = await push_to_talk(voice, said=[], actions=[(2.0, lambda s: s.commit_user_turn())])
    assert user_turns(session) == []
    assert not any(e.type == "speech_created" for e in session.events)


async def test_commit_in_a_text_session_says_what_to_use() -> None:
    async with AgentSession(llm=ScriptedLLM(), clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        with pytest.raises(RuntimeError, match=r"use run\(user_input=...\)"):
            session.commit_user_turn()


def test_an_unknown_turn_detection_mode_is_refused() -> None:
    with pytest.raises(
        ConfigError, match="turn_detection must be 'vad', 'manual', a TurnEngine or a TurnDetector"
    ):
        AgentSession(turn_detection="stt")  # type: ignore[arg-type]


async def test_a_commit_takes_the_floor_from_the_agent(voice: Voice) -> None:
    story = "Once upon a time there was a dragon who wanted to fly over the high mountains."
    session = await push_to_talk(
        voice,
        said=[(0.5, 1.0, "Tell me a story."), (5.0, 0.3, "Wait.")],  # under the thresholds
        actions=[(2.5, lambda s: s.commit_user_turn()), (6.0, lambda s: s.commit_user_turn())],
        seconds=12,
        replies=[story, "Yes?"],
    )
    first, second = [m for m in session.history.messages if m.role == "assistant"]
    assert first.interrupted and story.startswith(first.text) and first.text != story
    assert second.text == "Yes?"
    assert [d for _, d in user_turns(session)] == ["user:Tell me a story.", "user:Wait."]


async def test_turn_commands_enter_the_graph_through_the_command_node(
    voice: Voice, monkeypatch: pytest.MonkeyPatch
) -> None:
    """commit_user_turn, clear_user_turn and an uninterruptible say reach the turn detector
    as control events of the session's command node, never as direct calls."""
    received: list[TurnCommand] = []
    direct: list[str] = []
    handling = False
    on_command = TurnDetector.on_command

    def recording(self: TurnDetector, command: TurnCommand) -> None:
        nonlocal handling
        received.append(command)
        handling = True
        try:
            on_command(self, command)
        finally:
            handling = False

    def guard(name: str) -> Callable[..., None]:
        method = getattr(TurnDetector, name)

        def called(self: TurnDetector, *args: Any) -> None:
            if not handling:
                direct.append(name)
            method(self, *args)

        return called

    monkeypatch.setattr(TurnDetector, "on_command", recording)
    for name in ("commit_user_turn", "clear_user_turn", "set_interruptions_allowed"):
        monkeypatch.setattr(TurnDetector, name, guard(name))
    session = await push_to_talk(
        voice,
        said=[(1.0, 0.5, "Forget it."), (3.5, 1.0, "Book a table.")],
        actions=[
            (0.2, lambda s: s.say("One moment.", allow_interruptions=False)),
            (2.5, lambda s: s.clear_user_turn()),
            (5.0, lambda s: s.commit_user_turn(transcript_timeout=1.0)),
        ],
    )
    assert direct == []
    assert received == [
        AllowInterruptions(False),
        ClearTurn(),
        CommitTurn(transcript_timeout=1.0),
        AllowInterruptions(True),  # the reply to the turn may be interrupted again
    ]
    assert [d for _, d in user_turns(session)] == ["user:Book a table."]
    pipeline = session.pipeline
    assert pipeline is not None
    (edge,) = [e for e in pipeline.graph.iter_edges() if e.dst is pipeline.turn.commands]
    assert edge.src.node is pipeline.commands and edge.feedback
