"""``RunContext.wait_for_playout()``: a tool waits until its announcement has been heard."""

from __future__ import annotations

from typing import Any

from agent_helpers import Voice, at

from voicegraph.nodes.agent import Agent, AgentSession, RunContext
from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock

PREAMBLE = "Let me check that for you."


class Checker(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Check things.")
        self.waits: list[tuple[float, float, str]] = []

    @function_tool
    async def check(self, context: RunContext) -> str:
        """Check the thing."""
        before = context.session.clock.now()
        await context.wait_for_playout()
        assert context.speech_handle is not None
        self.waits.append((before, context.session.clock.now(), context.speech_handle.played_text))
        return "all good"


def script() -> list[Any]:
    call = ScriptedToolCall(name="check")
    return [ScriptedReply(preamble=PREAMBLE, tool_calls=[call], text="All good.")]


async def test_a_tool_waits_until_the_words_before_it_were_heard(voice: Voice) -> None:
    agent = Checker()
    session = await voice.converse(
        agent, said=[(0.5, 1.5, "Check it.")], seconds=8, replies=script()
    )
    ((before, after, heard),) = agent.waits
    speaking = at(session, "agent:speaking")
    # the tool was called while the preamble played (0.06 s per character)...
    assert before < speaking + len(PREAMBLE) * 0.06 - 0.5
    # ...and returned once it had all been heard
    assert heard == PREAMBLE
    assert abs(after - (speaking + len(PREAMBLE) * 0.06)) <= 0.1, (speaking, after)
    assert [m.text for m in session.history.messages if m.role == "assistant"] == [
        PREAMBLE,
        "All good.",
    ]


async def test_without_audio_it_returns_at_once() -> None:
    agent = Checker()
    async with AgentSession(llm=ScriptedLLM(replies=script()), clock=VirtualClock()) as session:
        await session.start(agent)
        result = await session.run(user_input="Check it.")
        result.expect.contains_function_call(name="check")
    ((before, after, heard),) = agent.waits
    assert after == before and heard == ""
