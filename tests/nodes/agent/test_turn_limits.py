"""The smaller turn-taking options: AEC warm-up, the gap between replies, user turn limits,
the transcription timeout."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from agent_helpers import Voice, at, timeline

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import Agent, AgentSession, UserTurnLimit
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.runner import VirtualClock

STORY = "Once upon a time there was a dragon who wanted to fly over the high mountains."


def assistant_texts(session: AgentSession[Any]) -> list[tuple[str, bool]]:
    return [(m.text, m.interrupted) for m in session.history.messages if m.role == "assistant"]


@pytest.mark.parametrize("warmup", [None, 3.0])
async def test_aec_warmup_keeps_the_first_seconds_of_speech_uninterruptible(
    voice: Voice, warmup: float | None
) -> None:
    session = await voice.converse(
        Agent(instructions="Tell stories."),
        said=[(0.5, 1.5, "Tell me a story."), (3.4, 1.0, "Hold on.")],
        seconds=10,
        replies=[STORY, "Yes?"],
        aec_warmup_duration=warmup,
    )
    speaking = at(session, "agent:speaking")
    assert speaking < 3.4 < speaking + 3.0  # the user spoke within the agent's first 3 s
    if warmup is None:
        (_story, cut), (answer, _) = assistant_texts(session)
        assert cut and answer == "Yes?"
    else:
        assert assistant_texts(session) == [(STORY, False)]
        assert session.pipeline is not None and session.pipeline.turn.ignored == ["Hold on."]


async def test_min_consecutive_speech_delay_spaces_the_replies() -> None:
    done: list[float] = []
    async with AgentSession(
        llm=ScriptedLLM(), clock=VirtualClock(), min_consecutive_speech_delay=1.5
    ) as session:
        await session.start(Agent(instructions="x"))
        for text in ("One.", "Two.", "Three."):
            session.say(text).add_done_callback(lambda _: done.append(session.clock.now()))
        await session.say("Four.")
    assert [round(b - a, 6) for a, b in itertools.pairwise(done)] == [1.5, 1.5]


async def test_a_turn_past_max_words_is_reported_once(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"),
        said=[(0.5, 1.0, "one two three"), (2.5, 1.0, "four five six seven")],
        seconds=8,
        replies=["Okay."],
        user_turn_limit=UserTurnLimit(max_words=5),
        min_endpointing_delay=1.5,
    )
    exceeded = [e for e in session.events if e.type == "user_turn_exceeded"]
    assert len(exceeded) == 1
    event: Any = exceeded[0]
    assert event.words == 7 and event.transcript == "one two three four five six seven"


async def test_a_turn_past_max_duration_is_reported_while_the_user_talks(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"),
        said=[(0.5, 3.0, "a long ramble")],
        seconds=8,
        replies=["Okay."],
        user_turn_limit={"max_duration": 1.0},
    )
    (event,) = [e for e in session.events if e.type == "user_turn_exceeded"]
    started = at(session, "user:speaking")
    assert event.created_at == pytest.approx(started + 1.0)
    assert event.created_at < at(session, "user:listening")  # still talking


async def test_a_slow_transcript_is_reported(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"),
        said=[(0.5, 1.5, "Hello.")],
        seconds=8,
        replies=["Hi."],
        transcription_timeout=0.5,
        stt=ScriptedSTT(texts=["Hello."], delay=1.2),
    )
    (event,) = [e for e in session.events if e.type == "user_transcription_timeout"]
    stopped = next(t for t, d in timeline(session) if d == "user:listening")
    assert event.created_at == pytest.approx(stopped + 0.5)
    assert assistant_texts(session) == [("Hi.", False)]  # the turn still went through


async def test_a_quick_transcript_is_not_reported(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"), said=[(0.5, 1.5, "Hello.")], seconds=6, replies=["Hi."],
        transcription_timeout=0.5,
    )  # fmt: skip
    assert not [e for e in session.events if e.type == "user_transcription_timeout"]


def test_a_bad_limit_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_words"):
        AgentSession(user_turn_limit={"max_words": 0})
