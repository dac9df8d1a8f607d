"""A misbehaving tool never stalls or kills a session: the LLM gets an error result and replies.

Covers a tool that raises ``CancelledError`` on its own (it used to hang the session: a
DeadlockError under the virtual clock, forever under the real one) and a tool whose result's
``str()`` raises (it used to end the session with an ExceptionGroup).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import pytest

from voicegraph.graph import Clock
from voicegraph.nodes.agent import Agent, AgentSession, RunContext
from voicegraph.nodes.llm import (
    ChatContext,
    FunctionCallOutput,
    LLMChunk,
    ScriptedLLM,
    ScriptedReply,
    ScriptedToolCall,
)
from voicegraph.nodes.tools import FunctionTool, function_tool
from voicegraph.runner import RealClock, VirtualClock

HANG_GUARD = 30.0  # real seconds: only an upper bound so a regression fails instead of hanging


class RecordingLLM(ScriptedLLM):
    """A scripted LLM that keeps the tool results it was given when it generated again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[FunctionCallOutput] = []

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        if step > 0:
            self.seen.extend(i for i in chat.items if isinstance(i, FunctionCallOutput))
        async for chunk in super().generate(chat, tools, step=step):
            yield chunk


class Unprintable:
    def __str__(self) -> str:
        raise ValueError("no text for you")


def session_clock(context: RunContext) -> Clock:
    clock = context.session.clock
    assert clock is not None
    return clock


@function_tool
async def book_table(context: RunContext) -> str:
    """Book a table (its backend gives up by raising CancelledError)."""
    await session_clock(context).sleep(0.2)
    raise asyncio.CancelledError


@function_tool
async def lookup_order(context: RunContext) -> Any:
    """Look up the order (returns an object that cannot be printed)."""
    await session_clock(context).sleep(0.2)
    return Unprintable()


CASES = {
    "cancelled": (book_table, "tool 'book_table' failed: CancelledError"),
    "unprintable": (
        lookup_order,
        "tool 'lookup_order' returned a value of type Unprintable that cannot be turned into "
        "text (ValueError: no text for you); return a str, a pydantic model or "
        "JSON-serializable data",
    ),
}


@pytest.mark.parametrize("clock", ["virtual", "real"])
@pytest.mark.parametrize("case", list(CASES))
async def test_a_failing_tool_becomes_an_error_result_and_the_session_goes_on(
    case: str, clock: str
) -> None:
    tool, message = CASES[case]
    script = [
        ScriptedReply(tool_calls=[ScriptedToolCall(name=tool.name)], text="Sorry, that failed."),
        "Anything else?",
    ]
    # real clock: no scripted delays, so the real time this takes is the tool's 0.2 s
    delays = {"first_token_delay": 0.0, "token_delay": 0.0} if clock == "real" else {}
    llm = RecordingLLM(replies=script, **delays)
    with anyio.fail_after(HANG_GUARD):
        async with AgentSession(
            llm=llm, clock=VirtualClock() if clock == "virtual" else RealClock()
        ) as session:
            await session.start(Agent(instructions="x", tools=[tool]))
            first = await session.run(user_input="Please do it.")
            first.expect.next_event().is_function_call(name=tool.name)
            first.expect.next_event().is_function_call_output(output=message, is_error=True)
            first.expect.next_event().is_message(role="assistant").contains("sorry")
            first.expect.no_more_events()
            second = await session.run(user_input="Thanks.")  # the session still works
            second.expect.next_event().is_message(role="assistant").contains("anything else")
    assert [(o.name, o.output, o.is_error) for o in llm.seen] == [(tool.name, message, True)]
