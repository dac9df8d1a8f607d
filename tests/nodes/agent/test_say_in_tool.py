"""Speech scheduled inside a tool (``await session.say(...)`` / ``generate_reply``) plays while
the tool runs, as in LiveKit's tests/test_evals.py: call, the speech, output, handoff, reply."""

from __future__ import annotations

from typing import Any

from agent_helpers import Voice, at

from voicegraph.nodes.agent import Agent, AgentSession, RunContext
from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock


def call(name: str, text: str = "", **arguments: Any) -> ScriptedReply:
    return ScriptedReply(tool_calls=[ScriptedToolCall(name=name, arguments=arguments)], text=text)


class Echo(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Your name is Echo.")

    async def on_enter(self) -> None:
        self.session.generate_reply(user_input="Say hello to the user!")


class Kelly(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Your name is Kelly.")
        self.after_say: float | None = None

    @function_tool
    async def talk_to_echo(self, ctx: RunContext) -> Agent:
        """Called when the user wants to speak with Echo."""
        await self.session.say("Hello world")
        self.after_say = self.session.clock.now() if self.session.clock else None
        return Echo()

    @function_tool
    async def look_up(self, ctx: RunContext) -> str:
        """Look something up, saying so first."""
        await ctx.session.generate_reply(instructions="Tell the user to wait.")
        return "found it"

    @function_tool
    async def announce(self, ctx: RunContext) -> str:
        """Announce without waiting."""
        ctx.session.say("One moment.")
        return "done"


async def test_awaited_say_in_a_tool_then_a_handoff_in_livekits_order() -> None:
    llm = ScriptedLLM(replies=[call("talk_to_echo"), "Hi, Echo here."])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Kelly())
        result = await session.run(user_input="Can I speak to Echo?")
        result.expect.next_event().is_function_call(name="talk_to_echo")
        result.expect.next_event().is_message(role="assistant").contains("Hello world")
        result.expect.next_event().is_function_call_output(is_error=False)
        result.expect.next_event().is_agent_handoff(new_agent_type=Echo)
        result.expect.next_event().is_message(role="assistant").contains("Echo here")
        result.expect.no_more_events()
        assert isinstance(session.current_agent, Echo)
        assert session.clock is not None and session.clock.now() < 1.0  # no 10 s tool timeout
        kinds = [type(i).__name__ for i in session.history.items]
        assert kinds[kinds.index("FunctionCall") :] == [
            "FunctionCall",
            "ChatMessage",  # Hello world, said while the tool ran
            "FunctionCallOutput",
            "AgentHandoffItem",
            "ChatMessage",  # Echo's on_enter user input
            "ChatMessage",
        ]


async def test_awaited_generate_reply_in_a_tool_then_the_tool_reply() -> None:
    llm = ScriptedLLM(replies=[call("look_up", "Here it is."), "Please wait."])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Kelly())
        result = await session.run(user_input="Look it up")
        result.expect.next_event().is_function_call(name="look_up")
        result.expect.next_event().is_message(role="assistant").contains("Please wait")
        result.expect.next_event().is_function_call_output(output="found it")
        result.expect.next_event().is_message(role="assistant").contains("Here it is")
        result.expect.no_more_events()


async def test_a_say_not_awaited_plays_before_the_tool_reply() -> None:
    llm = ScriptedLLM(replies=[call("announce", "All set.")])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Kelly())
        result = await session.run(user_input="Go")
        result.expect.next_event().is_function_call(name="announce")
        result.expect.next_event().is_message(role="assistant").contains("One moment")
        result.expect.next_event().is_function_call_output(output="done")
        result.expect.next_event().is_message(role="assistant").contains("All set")
        result.expect.no_more_events()
        tools = [e for e in session.events if e.type == "function_tools_executed"]
        assert len(tools) == 1 and [c.name for c in tools[0].function_calls] == ["announce"]


async def test_with_audio_the_awaited_say_returns_once_it_has_played(voice: Voice) -> None:
    agent = Kelly()
    session = await voice.converse(
        agent,
        said=[(0.5, 1.2, "Can I speak to Echo?")],
        seconds=12.0,
        replies=[call("talk_to_echo"), "Hi, Echo here."],
    )
    said = at(session, "assistant:Hello world")  # reported once it has played
    assert agent.after_say is not None and agent.after_say >= said - 0.01
    assert at(session, "handoff:kelly->echo") >= said
    assert at(session, "assistant:Hi, Echo here.") > said
    errors = [e for e in session.events if e.type == "error"]
    assert not errors
