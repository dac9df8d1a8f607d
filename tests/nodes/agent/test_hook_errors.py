"""Errors in agent hooks reach the user: an ``error`` event, and ``session.run()`` raises."""

from __future__ import annotations

from typing import Any

import pytest

from voicegraph.nodes.agent import Agent, AgentSession, ErrorEvent
from voicegraph.nodes.llm import (
    ChatContext,
    ChatMessage,
    ScriptedLLM,
    ScriptedReply,
    ScriptedToolCall,
)
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock


class Target(Agent):
    def __init__(self, fail: bool = True) -> None:
        super().__init__(instructions="Target.")
        self.fail = fail

    async def on_enter(self) -> None:
        if self.fail:
            raise AttributeError("'ChatContext' object has no attribute 'nope'")


class Leaving(Agent):
    def __init__(self, exit_fails: bool = False) -> None:
        super().__init__(instructions="Leaving.")
        self.exit_fails = exit_fails

    async def on_exit(self) -> None:
        if self.exit_fails:
            raise RuntimeError("on_exit broke")

    @function_tool
    async def go(self) -> Agent:
        """Hand over."""
        return Target(fail=not self.exit_fails)


class Picky(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Picky.")

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        raise TypeError("add_message() got an unexpected keyword argument 'content'")


def go_then(*replies: Any) -> ScriptedLLM:
    return ScriptedLLM(replies=[ScriptedReply(tool_calls=[ScriptedToolCall(name="go")]), *replies])


async def test_an_on_enter_error_is_an_event_and_run_raises_it() -> None:
    async with AgentSession(llm=go_then(), clock=VirtualClock()) as session:
        errors: list[ErrorEvent] = []
        session.on("error", errors.append)
        await session.start(Leaving())
        with pytest.raises(AttributeError, match="no attribute 'nope'"):
            await session.run(user_input="switch")
        assert [e.source for e in errors] == ["target.on_enter"]
        assert isinstance(session.current_agent, Target)  # the handoff itself happened


async def test_an_on_exit_error_is_raised_from_run() -> None:
    async with AgentSession(llm=go_then(), clock=VirtualClock()) as session:
        await session.start(Leaving(exit_fails=True))
        with pytest.raises(RuntimeError, match="on_exit broke"):
            await session.run(user_input="switch")
        errors = [e for e in session.events if isinstance(e, ErrorEvent)]
        assert [e.source for e in errors] == ["leaving.on_exit"]


async def test_an_on_user_turn_completed_error_is_raised_from_run() -> None:
    async with AgentSession(llm=ScriptedLLM(replies=["ok"]), clock=VirtualClock()) as session:
        await session.start(Picky())
        with pytest.raises(TypeError, match="unexpected keyword argument 'content'"):
            await session.run(user_input="hi")
        errors = [e for e in session.events if isinstance(e, ErrorEvent)]
        assert [e.source for e in errors] == ["picky.on_user_turn_completed"]


async def test_an_error_outside_a_run_is_an_event_only() -> None:
    class Greeter(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="Greeter.")

        async def on_enter(self) -> None:
            raise ValueError("greeting failed")

    async with AgentSession(llm=ScriptedLLM(replies=["Hello."]), clock=VirtualClock()) as session:
        await session.start(Greeter())  # on_enter runs after start returned: not raised here
        assert session.clock is not None
        await session.clock.sleep(0.5)
        errors = [e for e in session.events if isinstance(e, ErrorEvent)]
        assert [(e.source, str(e.error)) for e in errors] == [
            ("greeter.on_enter", "greeting failed")
        ]
        result = await session.run(user_input="hi")  # a later run does not raise it
        result.expect.next_event().is_message(role="assistant")
