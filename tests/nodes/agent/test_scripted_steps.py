"""ScriptedReply(steps=[...]): each tool round scripted on its own, later ones computed from
the earlier tool results."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.llm import ChatContext, FunctionCallOutput
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedReply, ScriptedStep, ScriptedToolCall


@function_tool
async def find_city(name: str) -> str:
    """Find a city's id."""
    return {"Paris": "fr-75"}.get(name, "unknown")


@function_tool
async def weather(city_id: str) -> str:
    """The weather of a city id."""
    return "sunny" if city_id == "fr-75" else "no data"


def last_output(chat: ChatContext) -> str:
    outputs = [i for i in chat.items if isinstance(i, FunctionCallOutput)]
    return outputs[-1].output


def second_round(chat: ChatContext) -> list[ScriptedToolCall]:
    return [ScriptedToolCall(name="weather", arguments={"city_id": last_output(chat)})]


async def test_each_round_is_scripted_and_may_use_the_earlier_results() -> None:
    reply = ScriptedReply(
        steps=[
            ScriptedStep(
                text="Let me look.",
                tool_calls=[ScriptedToolCall(name="find_city", arguments={"name": "Paris"})],
            ),
            second_round,  # computed from find_city's output
            lambda chat: f"It is {last_output(chat)} in Paris.",
        ]
    )
    agent = Agent(instructions="Weather.", tools=[find_city, weather])
    async with AgentSession(llm=ScriptedLLM(replies=[reply]), clock=VirtualClock()) as session:
        await session.start(agent)
        result = await session.run(user_input="Weather in Paris?")
        result.expect.next_event().is_message(role="assistant").contains("Let me look")
        result.expect.next_event().is_function_call(name="find_city", arguments={"name": "Paris"})
        result.expect.next_event().is_function_call_output(output="fr-75")
        result.expect.next_event().is_function_call(name="weather", arguments={"city_id": "fr-75"})
        result.expect.next_event().is_function_call_output(output="sunny")
        result.expect.next_event().is_message(role="assistant").contains("It is sunny in Paris")
        result.expect.no_more_events()


async def test_without_tools_offered_a_steps_calls_are_left_out() -> None:
    reply = ScriptedReply(
        steps=[
            ScriptedStep(text="One.", tool_calls=[ScriptedToolCall(name="weather")]),
            "never reached",
        ]
    )
    agent = Agent(instructions="Weather.", tools=[weather])
    session = AgentSession(llm=ScriptedLLM(replies=[reply]), clock=VirtualClock(), max_tool_steps=0)
    async with session:
        await session.start(agent)
        result = await session.run(user_input="Weather?")
        result.expect.next_event().is_message(role="assistant").contains("One.")
        result.expect.no_more_events()


def test_steps_and_the_simple_form_do_not_mix() -> None:
    with pytest.raises(ValidationError, match="either steps"):
        ScriptedReply(steps=["a"], text="b")
