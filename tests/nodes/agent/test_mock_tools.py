"""``mock_tools``: an agent class's tools replaced within a ``with`` block (LiveKit's helper)."""

from __future__ import annotations

import pytest

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import Agent, AgentSession, RunContext, mock_tools
from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock


class Weather(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Weather.")
        self.real_calls = 0

    @function_tool
    async def forecast(self, city: str, days: int = 1) -> str:
        """The forecast.

        Args:
            city: Where.
            days: How many days.
        """
        self.real_calls += 1
        return f"real forecast for {city}"


class Other(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Other.")

    @function_tool
    async def forecast(self, city: str) -> str:
        """The forecast.

        Args:
            city: Where.
        """
        return "other's forecast"


def call(city: str) -> ScriptedReply:
    tool_call = ScriptedToolCall(name="forecast", arguments={"city": city})
    return ScriptedReply(tool_calls=[tool_call], text="ok")


async def test_a_mock_replaces_the_tool_of_that_agent_class_in_the_block() -> None:
    llm = ScriptedLLM(replies=[call("Oslo"), call("Rome")])
    seen: list[tuple[str, bool]] = []

    def fake(city: str, context: RunContext) -> str:  # fewer parameters than the tool
        seen.append((city, context.speech_handle is not None))
        return "always sunny"

    agent = Weather()
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(agent)
        with mock_tools(Weather, {"forecast": fake}):
            mocked = await session.run(user_input="Oslo?")
        real = await session.run(user_input="Rome?")
    mocked.expect.next_event().is_function_call(name="forecast", arguments={"city": "Oslo"})
    mocked.expect.next_event().is_function_call_output(output="always sunny")
    real.expect.next_event().is_function_call(name="forecast")
    real.expect.next_event().is_function_call_output(output="real forecast for Rome")
    assert seen == [("Oslo", True)] and agent.real_calls == 1


async def test_a_mock_of_another_class_does_not_apply() -> None:
    llm = ScriptedLLM(replies=[call("Oslo")])

    async def fake(city: str) -> str:
        return "mocked"

    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Other())
        with mock_tools(Weather, {"forecast": fake}):
            result = await session.run(user_input="Oslo?")
    result.expect.next_event().is_function_call(name="forecast")
    result.expect.next_event().is_function_call_output(output="other's forecast")


def test_mock_tools_misuse() -> None:
    with pytest.raises(ConfigError, match="Agent class"), mock_tools(Weather(), {}):  # type: ignore[arg-type]
        pass
    with pytest.raises(ConfigError, match="not callable"), mock_tools(Weather, {"forecast": 3}):  # type: ignore[dict-item]
        pass
