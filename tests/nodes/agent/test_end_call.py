"""``session.shutdown(drain=)`` and ``EndCallTool`` (LiveKit's beta tool): the goodbye is
spoken, then the session ends."""

from __future__ import annotations

from typing import Any

from agent_helpers import Voice, at

from voicegraph.nodes.agent import Agent, AgentSession, EndCallTool
from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.runner import VirtualClock

END = ScriptedReply(tool_calls=[ScriptedToolCall(name="end_call")], text="Goodbye, take care!")


def closer(**settings: Any) -> Agent:
    return Agent(instructions="Help, then end the call.", tools=[EndCallTool(**settings)])


async def test_end_call_ends_the_session_after_the_goodbye() -> None:
    async with AgentSession(llm=ScriptedLLM(replies=[END]), clock=VirtualClock()) as session:
        await session.start(closer())
        result = await session.run(user_input="That's all, bye.")
        result.expect.next_event().is_function_call(name="end_call")
        result.expect.next_event().is_function_call_output(output="say goodbye to the user")
        result.expect.next_event().is_message(role="assistant").contains("Goodbye")
        await session.wait()
        close = session.events[-1]
        assert close.type == "close" and close.reason == "closed"  # type: ignore[attr-defined]
        assert "end_call" in session.llm.tools
        assert "Ends the current call" in session.llm.tools["end_call"].description


async def test_end_call_without_instructions_ends_without_a_reply() -> None:
    llm = ScriptedLLM(replies=[ScriptedReply(preamble="Bye!", tool_calls=[END.tool_calls[0]])])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(closer(end_instructions=None))
        result = await session.run(user_input="Bye.")
        result.expect.next_event().is_message(role="assistant").contains("Bye!")
        result.expect.next_event().is_function_call(name="end_call")
        result.expect.next_event().is_function_call_output(output="")
        result.expect.no_more_events()
        await session.wait()


async def test_end_call_with_audio_ends_once_the_goodbye_has_played(voice: Voice) -> None:
    session = await voice.converse(
        closer(), said=[(0.5, 1.2, "That's all, bye.")], seconds=30.0, replies=[END]
    )
    goodbye = at(session, "assistant:Goodbye, take care!")  # reported once it has played
    ended = at(session, "close")
    assert goodbye <= ended < 29.0  # the session did not run until the input's end


async def test_shutdown_drains_or_not() -> None:
    async with AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        handle = session.say("A last word.")
        session.shutdown()  # drain: the queued say plays first
        session.shutdown()  # a second call does nothing
        await session.wait()
        assert handle.done() and not handle.interrupted
        assert session.history.messages[-1].text == "A last word."

    async with AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        handle = session.say("Never heard.")
        session.shutdown(drain=False)  # at once: the queued say is dropped
        await session.wait()
        assert handle.done() and handle.interrupted
        assert "Never heard." not in [m.text for m in session.history.messages]
