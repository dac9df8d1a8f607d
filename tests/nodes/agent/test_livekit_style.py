"""LiveKit's own test style runs as is: ``@pytest.mark.asyncio`` (pytest-asyncio, strict mode,
beside the suite's anyio auto mode) and ``async with llm, AgentSession(llm=llm) as sess``.

Ported from LiveKit's tests/test_evals.py with a scripted LLM instead of a hosted model.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from voicegraph.nodes.agent import Agent, AgentSession, RunContext
from voicegraph.nodes.tools import function_tool
from voicegraph.testing import ScriptedLLM, ScriptedReply, ScriptedToolCall


def _llm_model() -> ScriptedLLM:
    def weather_reply(chat: Any) -> str:
        output = chat.items[-1]  # the tool round's output
        return f"It is {output.output}"

    return ScriptedLLM(
        replies=[
            ScriptedReply(
                tool_calls=[
                    ScriptedToolCall(name="lookup_weather", arguments={"location": "San Francisco"})
                ],
                text=weather_reply,
            ),
            ScriptedReply(tool_calls=[ScriptedToolCall(name="talk_to_echo")]),
            "Hello, I am Echo!",
        ],
        first_token_delay=0.0,
        token_delay=0.0,
    )


class KellyAgent(Agent):
    def __init__(self) -> None:
        super().__init__(
            instructions="Your name is Kelly. You would interact with users via voice."
        )

    @function_tool
    async def lookup_weather(self, ctx: RunContext, location: str) -> str:
        """Called when the user asks for weather related information.

        Args:
            location: The location they are asking for
        """
        return "sunny with a temperature of 70 degrees."

    @function_tool
    async def talk_to_echo(self, ctx: RunContext) -> Agent:
        """Called when the user wants to speak with Echo"""
        await self.session.say("Hello world")
        return EchoAgent()


class EchoAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Your name is Echo. You would interact with users via voice.")

    async def on_enter(self) -> None:
        self.session.generate_reply(user_input="Say hello to the user!")


@pytest.mark.asyncio
async def test_function_call() -> None:
    async with _llm_model() as llm, AgentSession(llm=llm) as sess:
        await sess.start(KellyAgent())

        result = await sess.run(user_input="What is the weather in San Francisco?")
        result.expect.next_event().is_function_call(
            name="lookup_weather", arguments={"location": "San Francisco"}
        )
        result.expect.next_event().is_function_call_output(
            output="sunny with a temperature of 70 degrees."
        )
        result.expect.next_event().is_message(role="assistant").contains("70 degrees")
        result.expect.no_more_events()

        result = await sess.run(user_input="Can I speak to Echo?")
        result.expect.next_event().is_function_call()
        result.expect.next_event().is_message(role="assistant")  # say `Hello world`!
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=EchoAgent)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()


@pytest.mark.asyncio
async def test_start_with_capture_run() -> None:
    llm = ScriptedLLM(replies=["Hello!", "Fine, thanks."], first_token_delay=0.0)
    async with llm, AgentSession(llm=llm) as sess:
        result = await sess.start(EchoAgent(), capture_run=True)
        result.expect.next_event().is_agent_handoff(new_agent_type=EchoAgent)
        result.expect.next_event().is_message(role="assistant")

        result = await sess.run(user_input="Hello how are you?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()


@pytest.mark.asyncio
async def test_engines_are_async_context_managers_of_their_own_type() -> None:
    async with ScriptedLLM(replies=[]) as llm:
        assert isinstance(llm, ScriptedLLM)
        assert json.loads(json.dumps(llm.config.model_dump(mode="json")))["replies"] == []


async def test_the_anyio_suite_still_runs_unmarked_tests() -> None:
    async with ScriptedLLM(replies=["ok"]) as llm, AgentSession(llm=llm) as sess:
        await sess.start(Agent(instructions="x"))
        result = await sess.run(user_input="hi")
        result.expect.next_event().is_message(role="assistant").contains("ok")
