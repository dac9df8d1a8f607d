"""A reply generated ahead (preemptive generation) and the splitter's bounded first wait:
the held text is released as one frame, so a short first sentence that was complete in time
stays whole, and a slow one is cut at a word boundary as soon as the turn is confirmed."""

from __future__ import annotations

from typing import Any

from agent_helpers import Voice, at

from voicegraph.graph import LLMText
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.agent._preemptive import join_held
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.nodes.tts import ScriptedTTS

SAID = [(0.5, 1.5, "Tell me about the moon.")]


def preemptive(session: AgentSession[Any]) -> list[tuple[str, bool]]:
    assert session.pipeline is not None and session.pipeline.controller is not None
    return session.pipeline.controller.preemptive


def spoken(session: AgentSession[Any]) -> list[str]:
    assert session.pipeline is not None
    engine = session.pipeline.tts.engine
    assert isinstance(engine, ScriptedTTS)
    return list(engine.spoken)


async def converse(voice: Voice, reply: str, token_delay: float) -> AgentSession[Any]:
    llm = ScriptedLLM(replies=[reply], token_delay=token_delay)
    return await voice.converse(Agent(instructions="x"), said=SAID, seconds=8, llm=llm)


async def test_a_held_short_sentence_is_released_whole(voice: Voice) -> None:
    reply = "It is our only natural satellite. It is lovely."
    session = await converse(voice, reply, token_delay=0.02)
    assert preemptive(session) == [("Tell me about the moon.", True)]
    # the reply was generated well before the turn ended (more than first_wait before):
    # released delta by delta, its first chunk would have been cut after four words
    assert spoken(session) == ["It is our only natural satellite.", "It is lovely."]
    assert at(session, "agent:speaking") == at(session, "speech:generate_reply")


async def test_a_held_slow_sentence_starts_at_a_word_boundary(voice: Voice) -> None:
    reply = "The moon is approximately 225,772,100 miles away from our planet Earth. It is far."
    session = await converse(voice, reply, token_delay=0.06)
    assert preemptive(session) == [("Tell me about the moon.", True)]
    # the LLM started at 2.22 s (first word 2.32 s, then one every 0.06 s); the turn was
    # confirmed at 2.66 s with "... 225,772,100 miles" generated ("miles" may go on); the
    # sentence would be complete only at 2.98 s (when the word after "Earth." comes)
    assert spoken(session) == [
        "The moon is approximately 225,772,100",
        "miles away from our planet Earth.",
        "It is far.",
    ]
    # the first audio starts as the turn is confirmed, not when the sentence is complete
    assert at(session, "agent:speaking") == at(session, "speech:generate_reply") == 2.66


def test_join_held_keeps_step_ends_and_the_first_generation_time() -> None:
    frames = [
        LLMText("One ", generated=1.0, epoch=3),
        LLMText("two.", generated=1.1, epoch=3),
        LLMText("", epoch=3),  # a step ended (tool calls follow)
        LLMText("Three.", generated=2.0, epoch=3),
        LLMText("", final=True, epoch=3),
    ]
    joined = join_held(frames)
    assert [(f.text, f.final, f.generated, f.epoch) for f in joined] == [
        ("One two.", False, 1.0, 3),
        ("", False, None, 3),
        ("Three.", False, 2.0, 3),
        ("", True, None, 3),
    ]
