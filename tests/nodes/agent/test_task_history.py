"""AgentTask and the caller's history, as in LiveKit: the caller's function call is recorded
when its tool starts (before what the task says), the task's own tool calls are kept only
with ``preserve_function_call_history=True``."""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.nodes.agent import Agent, AgentSession, AgentTask, RunContext
from voicegraph.nodes.llm import ChatMessage, FunctionCall, FunctionCallOutput
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedReply, ScriptedToolCall


@dataclass
class RandomResult:
    random_number: int


class InlineAgent(AgentTask[RandomResult]):
    def __init__(self, *, keep_calls: bool) -> None:
        super().__init__(
            instructions="You are a voice assistant", preserve_function_call_history=keep_calls
        )

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Call the generate_number tool")

    @function_tool
    async def generate_number(self, ctx: RunContext) -> None:
        """Generate the number."""
        self.complete(RandomResult(random_number=42))


class AshAgent(Agent):
    def __init__(self, *, keep_calls: bool) -> None:
        super().__init__(instructions="Your name is Ash.")
        self.keep_calls = keep_calls

    @function_tool
    async def start_random_generator(self, ctx: RunContext) -> int:
        """Start the random generator."""
        result = await InlineAgent(keep_calls=self.keep_calls)
        return result.random_number


def script() -> ScriptedLLM:
    return ScriptedLLM(
        replies=[
            ScriptedReply(
                tool_calls=[ScriptedToolCall(name="start_random_generator")],
                text="Your number is 42.",
            ),
            ScriptedReply(
                preamble="Generating.", tool_calls=[ScriptedToolCall(name="generate_number")]
            ),
        ]
    )


def shape(session: AgentSession) -> list[str]:
    out = []
    for item in session.history.items:
        if isinstance(item, FunctionCall):
            out.append(f"call:{item.name}")
        elif isinstance(item, FunctionCallOutput):
            out.append(f"output:{item.name}")
        elif isinstance(item, ChatMessage):
            if item.role != "system":
                out.append(f"{item.role}:{item.text}")
        else:
            out.append(f"handoff:{item.old_agent_id}->{item.new_agent_id}")
    return out


async def test_the_callers_call_comes_first_and_the_tasks_calls_are_dropped() -> None:
    async with AgentSession(llm=script(), clock=VirtualClock()) as session:
        await session.start(AshAgent(keep_calls=False))
        result = await session.run(user_input="Start the random generator?")
        result.expect.next_event().is_function_call(name="start_random_generator")
        result.expect.next_event().is_agent_handoff(new_agent_type=InlineAgent)
        result.expect.next_event().is_message(role="assistant").contains("Generating")
        result.expect.next_event().is_function_call(name="generate_number")
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=AshAgent)
        result.expect.next_event().is_function_call_output(output="42")
        result.expect.next_event().is_message(role="assistant").contains("42")
        result.expect.no_more_events()
        assert shape(session) == [
            "handoff:None->ash_agent",
            "user:Start the random generator?",
            "call:start_random_generator",  # recorded when the tool started
            "handoff:ash_agent->inline_agent",
            "assistant:Generating.",
            "handoff:inline_agent->ash_agent",
            "output:start_random_generator",
            "assistant:Your number is 42.",
        ]


async def test_preserve_function_call_history_keeps_the_tasks_calls() -> None:
    async with AgentSession(llm=script(), clock=VirtualClock()) as session:
        await session.start(AshAgent(keep_calls=True))
        await session.run(user_input="Start the random generator?")
        assert shape(session)[2:7] == [
            "call:start_random_generator",
            "handoff:ash_agent->inline_agent",
            "assistant:Generating.",
            "call:generate_number",
            "output:generate_number",
        ]
        assert shape(session)[-2:] == [
            "output:start_random_generator",
            "assistant:Your number is 42.",
        ]
