"""``session.start(agent, capture_run=True)`` and the first agent's activation as a handoff
(LiveKit's tests/test_evals.py ``test_start_with_capture_run``)."""

from __future__ import annotations

import pytest

from voicegraph.nodes.agent import Agent, AgentSession, RunResult
from voicegraph.nodes.llm import AgentHandoffItem, ScriptedLLM
from voicegraph.runner import VirtualClock


class Echo(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Your name is Echo.")

    async def on_enter(self) -> None:
        self.session.generate_reply(user_input="Say hello to the user!")


class Silent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Quiet.")


async def test_start_with_capture_run_returns_what_on_enter_did() -> None:
    llm = ScriptedLLM(replies=["Hello there!", "I am fine."])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        result = await session.start(Echo(), capture_run=True)
        assert isinstance(result, RunResult)
        handoff = result.expect.next_event().is_agent_handoff(new_agent_type=Echo)
        assert handoff.event().old_agent is None  # type: ignore[union-attr]
        result.expect.next_event().is_message(role="assistant").contains("Hello there")
        result.expect.no_more_events()

        result = await session.run(user_input="Hello how are you?")
        result.expect.next_event().is_message(role="assistant").contains("fine")
        result.expect.no_more_events()  # the start's handoff is not reported again


async def test_the_first_activation_is_a_handoff_in_the_history_and_the_events() -> None:
    async with AgentSession(llm=ScriptedLLM(replies=["Hi."]), clock=VirtualClock()) as session:
        assert await session.start(Silent()) is None
        first = session.history.items[1]  # after the instructions
        assert isinstance(first, AgentHandoffItem)
        assert (first.old_agent_id, first.new_agent_id) == (None, "silent")
        added = [e for e in session.events if e.type == "conversation_item_added"]
        assert [e.item.id for e in added] == [first.id]  # type: ignore[attr-defined]
        result = await session.run(user_input="Hello")
        assert [e.type for e in result.events] == ["message"]


async def test_capture_run_with_nothing_said_returns_just_the_handoff() -> None:
    async with AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock()) as session:
        result = await session.start(Silent(), capture_run=True)
        result.expect.next_event().is_agent_handoff(new_agent_type=Silent)
        result.expect.no_more_events()


class Broken(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Broken.")

    async def on_enter(self) -> None:
        self.session.say("Starting.")
        raise KeyError("no greeting configured")


async def test_capture_run_raises_what_on_enter_raised() -> None:
    async with AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock()) as session:
        with pytest.raises(KeyError, match="no greeting configured"):
            await session.start(Broken(), capture_run=True)
        errors = [e for e in session.events if e.type == "error"]
        assert [e.source for e in errors] == ["broken.on_enter"]  # type: ignore[attr-defined]
        result = await session.run(user_input="Hello?")  # the session goes on; no stale error
        assert result.user_input == "Hello?"
