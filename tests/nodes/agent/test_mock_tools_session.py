"""``mock_tools(AgentClass, {...}, session=session)`` and LiveKit's exact-class matching."""

from __future__ import annotations

from voicegraph.nodes.agent import Agent, AgentSession, mock_tools
from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock


class Weather(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Weather.")

    @function_tool
    async def forecast(self, city: str) -> str:
        """The forecast.

        Args:
            city: Where.
        """
        return f"real forecast for {city}"


class LocalWeather(Weather):
    pass


def asks(*cities: str) -> ScriptedLLM:
    replies = [
        ScriptedReply(tool_calls=[ScriptedToolCall(name="forecast", arguments={"city": c})])
        for c in cities
    ]
    return ScriptedLLM(replies=list(replies))


def outputs(session: AgentSession) -> list[str]:
    return [o.output for o in session.history.items if o.type == "function_call_output"]  # type: ignore[union-attr]


async def test_session_mocks_last_for_the_session_and_a_block_wins() -> None:
    async with AgentSession(llm=asks("Oslo", "Rome", "Bern"), clock=VirtualClock()) as session:
        await session.start(Weather())
        assert mock_tools(Weather, {"forecast": lambda: "session fake"}, session=session) is None
        await session.run(user_input="Oslo?")
        with mock_tools(Weather, {"forecast": lambda city: f"block fake {city}"}):
            await session.run(user_input="Rome?")
        mock_tools(Weather, {}, session=session)  # removed
        await session.run(user_input="Bern?")
    assert outputs(session) == ["session fake", "block fake Rome", "real forecast for Bern"]


async def test_a_mock_applies_to_exactly_that_class_as_in_livekit() -> None:
    async with AgentSession(llm=asks("Oslo"), clock=VirtualClock()) as session:
        await session.start(LocalWeather())
        with mock_tools(Weather, {"forecast": lambda: "fake"}):
            await session.run(user_input="Oslo?")
    assert outputs(session) == ["real forecast for Oslo"]
