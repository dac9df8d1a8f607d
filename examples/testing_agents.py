"""Testing an agent without audio: text turns, fluent expectations, the virtual clock.

The same helpers LiveKit users know (``session.run`` and ``result.expect``): each run sends
one user turn and returns what the agent did (messages, function calls and their outputs,
handoffs). Run this file directly, or copy the ``test_*`` functions into your pytest suite
(with ``anyio_mode = "auto"``).

    python examples/testing_agents.py   # always scripted: tests must be deterministic
"""

from __future__ import annotations

import anyio

from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedReply, ScriptedToolCall


@function_tool
async def lookup_weather(city: str) -> str:
    """Look up the weather.

    Args:
        city: The city, e.g. "Paris".
    """
    if city.lower() == "atlantis":
        raise ValueError("no such city")
    return f"sunny and 22 C in {city}"


class WeatherAgent(Agent):
    def __init__(self) -> None:
        super().__init__(
            instructions="You answer questions about the weather.", tools=[lookup_weather]
        )


def weather_llm(*cities: str) -> ScriptedLLM:
    """One scripted reply per city: call the tool, then answer."""
    return ScriptedLLM(
        replies=[
            ScriptedReply(
                tool_calls=[ScriptedToolCall(name="lookup_weather", arguments={"city": city})],
                text=f"Here is the weather in {city}.",
            )
            for city in cities
        ]
    )


async def test_the_agent_calls_the_tool_and_answers() -> None:
    async with AgentSession(llm=weather_llm("Paris"), clock=VirtualClock()) as session:
        await session.start(WeatherAgent())
        result = await session.run(user_input="What's the weather in Paris?")
        expect = result.expect
        expect.next_event().is_function_call(name="lookup_weather", arguments={"city": "Paris"})
        expect.next_event().is_function_call_output(output="sunny and 22 C in Paris")
        expect.next_event().is_message(role="assistant").contains("Paris")
        expect.no_more_events()


async def test_tool_errors_go_back_to_the_llm() -> None:
    async with AgentSession(llm=weather_llm("Atlantis"), clock=VirtualClock()) as session:
        await session.start(WeatherAgent())
        result = await session.run(user_input="And in Atlantis?")
        result.expect.contains_function_call_output(is_error=True).contains("no such city")
        result.expect[-1].is_message(role="assistant")


async def main() -> None:
    for test in (test_the_agent_calls_the_tool_and_answers, test_tool_errors_go_back_to_the_llm):
        await test()
        print(f"ok  {test.__name__}")


if __name__ == "__main__":
    anyio.run(main)
