"""Restaurant booking: function tools, a handoff between agents, and text test turns.

A receptionist answers; when the caller wants a table it hands the conversation over to a
booking agent, whose tools check availability and book. The session runs on text turns
(``session.run``), so you can see every function call, tool output and handoff.

    python examples/restaurant_booking.py             # the embedded SmolLM2 model (offline)
    python examples/restaurant_booking.py --scripted  # a scripted LLM (instant, deterministic)

The 135M-parameter embedded model is tiny: it picks tools by keyword and its answers are
rough; the scripted run shows the intended conversation.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import anyio

from voicegraph.nodes.agent import Agent, AgentSession, RunContext, RunResult
from voicegraph.nodes.llm import (
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    LLMEngine,
    ScriptedLLM,
    ScriptedReply,
    ScriptedToolCall,
)
from voicegraph.nodes.tools import ToolError, function_tool
from voicegraph.runner import VirtualClock


@dataclass
class Restaurant:
    """What the tools work on (the session's ``userdata``)."""

    free: dict[str, int] = field(default_factory=lambda: {"friday": 4, "saturday": 0})
    bookings: list[str] = field(default_factory=list)


class Booking(Agent):
    """Takes table bookings."""

    def __init__(self) -> None:
        super().__init__(instructions="You book tables. Ask for the day and the party size.")

    async def on_enter(self) -> None:
        self.session.say("Booking desk here. Which day, and for how many people?")

    @function_tool
    async def check_availability(self, context: RunContext[Restaurant], day: str) -> str:
        """Check how many tables are free on a day.

        Args:
            day: The day of the week, e.g. "friday".
        """
        free = context.userdata.free.get(day.lower())
        if free is None:
            raise ToolError(f"we are closed on {day}")
        return f"{free} tables free on {day}"

    @function_tool
    async def book_table(self, context: RunContext[Restaurant], day: str, guests: int) -> str:
        """Book a table.

        Args:
            day: The day of the week.
            guests: How many people.
        """
        restaurant = context.userdata
        if restaurant.free.get(day.lower(), 0) < 1:
            raise ToolError(f"no table left on {day}")
        restaurant.free[day.lower()] -= 1
        restaurant.bookings.append(f"{guests} on {day}")
        return f"booked a table for {guests} on {day}"


class Receptionist(Agent):
    """Answers the phone and passes bookings on."""

    def __init__(self) -> None:
        super().__init__(instructions="You answer the phone of Chez Graph, a restaurant.")

    @function_tool
    async def transfer_to_table_booking(self) -> tuple[Agent, str]:
        """Transfer the caller to the booking desk when they want a table."""
        return Booking(), "transferred to the booking desk"


def scripted_llm() -> ScriptedLLM:
    def call(name: str, **arguments: object) -> ScriptedToolCall:
        return ScriptedToolCall(name=name, arguments=arguments)

    return ScriptedLLM(
        replies=[
            ScriptedReply(preamble="Of course.", tool_calls=[call("transfer_to_table_booking")]),
            ScriptedReply(
                tool_calls=[call("check_availability", day="friday")],
                text="We have tables on Friday. Shall I book one for two?",
            ),
            ScriptedReply(
                tool_calls=[call("book_table", day="friday", guests=2)],
                text="Done: a table for two on Friday.",
            ),
        ]
    )


def show(result: RunResult) -> None:
    for event in result.events:
        item = event.item
        if isinstance(item, ChatMessage):
            print(f"    agent: {item.text}")
        elif isinstance(item, FunctionCall):
            print(f"    calls {item.name}({item.arguments})")
        elif isinstance(item, FunctionCallOutput):
            print(f"      -> {item.output}{' (error)' if item.is_error else ''}")
        else:
            print(f"    handoff: {item.old_agent_id} -> {item.new_agent_id}")


async def main(scripted: bool) -> Restaurant:
    restaurant = Restaurant()
    llm: LLMEngine
    if scripted:
        llm = scripted_llm()
    else:
        from voicegraph.nodes.llm import LlamaLLM

        llm = LlamaLLM()
    async with AgentSession(llm=llm, userdata=restaurant, clock=VirtualClock()) as session:
        await session.start(Receptionist())
        for text in [
            "Hi, I'd like to book a table.",
            "Is Friday free? Check availability.",
            "Yes please, book a table for two on Friday.",
        ]:
            print(f"user: {text}")
            result = await session.run(user_input=text)
            show(result)
        print(f"active agent: {session.current_agent.id}; bookings: {restaurant.bookings}")
    return restaurant


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripted", action="store_true", help="use a scripted LLM")
    args = parser.parse_args()
    anyio.run(main, args.scripted)
