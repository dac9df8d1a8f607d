"""The text test helpers: RunResult and its expectations, handoffs and tasks on text turns."""

from __future__ import annotations

from typing import Any

import pytest

from voicegraph.nodes.agent import Agent, AgentHandoff, AgentSession, AgentTask, RunResult
from voicegraph.nodes.llm import (
    AgentHandoffItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ScriptedLLM,
    ScriptedReply,
    ScriptedToolCall,
)
from voicegraph.nodes.tools import function_tool
from voicegraph.runner import VirtualClock


def session_for(*replies: Any) -> AgentSession[Any]:
    return AgentSession(llm=ScriptedLLM(replies=list(replies)), clock=VirtualClock())


def tool(name: str, **arguments: Any) -> ScriptedReply:
    return ScriptedReply(tool_calls=[ScriptedToolCall(name=name, arguments=arguments)])


def made_up_result() -> RunResult:
    result = RunResult("hi")
    result.add(ChatMessage(role="assistant", text="Let me look."))
    result.add(FunctionCall(call_id="c1", name="lookup", arguments='{"q": "tea", "n": 2}'))
    result.add(FunctionCallOutput(call_id="c1", name="lookup", output="green tea"))
    result.add(ChatMessage(role="assistant", text="Green tea it is."))
    return result


def test_expectations_walk_the_events_in_order() -> None:
    result = made_up_result()
    expect = result.expect
    expect.next_event().is_message(role="assistant").contains("look")
    expect.next_event().is_function_call(name="lookup", arguments={"q": "tea"})
    expect.next_event().is_function_call_output(output="green tea", is_error=False)
    expect.next_event().is_message(role="assistant").matches(r"tea it is\.$")
    expect.no_more_events()
    assert expect[-1].item.text == "Green tea it is."
    assert expect.contains_function_call(name="lookup").item.call_id == "c1"
    assert expect.contains_message(role="assistant").item.text == "Let me look."


def test_expectation_failures_explain_what_happened() -> None:
    result = made_up_result()
    with pytest.raises(AssertionError, match=r"expected a function_call at \[0\]") as info:
        result.expect.next_event().is_function_call()
    assert "> [1] function_call(lookup" in str(info.value)  # the cursor and the run listed
    with pytest.raises(AssertionError, match=r"arguments \{'q': 'tea'\} differ"):
        result.expect.next_event().is_function_call(arguments={"q": "coffee"})
    with pytest.raises(AssertionError, match="expected no more events, found 2"):
        result.expect.no_more_events()
    with pytest.raises(AssertionError, match="does not contain 'coffee'"):
        result.expect.next_event().contains("coffee")
    with pytest.raises(AssertionError, match="no agent_handoff event"):
        result.expect.contains_agent_handoff()
    with pytest.raises(AssertionError, match="no event at index 9"):
        result.expect[9]
    empty = RunResult()
    with pytest.raises(AssertionError, match="there are no more"):
        empty.expect.next_event()


def test_skipping() -> None:
    result = made_up_result()
    expect = result.expect
    assert expect.skip_next_event_if(type="function_call") is None  # it is a message
    assert expect.skip_next_event_if(type="message", role="assistant") is not None
    expect.skip_next(2)
    expect.next_event(type="message")
    with pytest.raises(AssertionError, match="cannot skip"):
        expect.skip_next()


class Sales(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You sell tea.")

    async def on_enter(self) -> None:
        self.session.generate_reply()


class FrontDesk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You greet.")

    @function_tool
    async def to_sales(self) -> tuple[Agent, str]:
        """Hand over to sales."""
        return Sales(), "transferring"


async def test_run_reports_a_handoff_and_the_new_agent_reply() -> None:
    async with session_for(tool("to_sales"), "Sales here!") as session:
        await session.start(FrontDesk())
        result = await session.run(user_input="I want tea")
        result.expect.next_event().is_function_call(name="to_sales")
        result.expect.next_event().is_function_call_output(output="transferring")
        handoff = result.expect.next_event().is_agent_handoff(new_agent_type=Sales)
        assert isinstance(handoff.event().old_agent, FrontDesk)  # type: ignore[union-attr]
        result.expect.next_event().is_message(role="assistant").contains("sales")
        result.expect.no_more_events()
        assert [type(i).__name__ for i in session.history.items][-2:] == [
            "AgentHandoffItem",
            "ChatMessage",
        ]


class Fresh(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Fresh start.")


class Keeper(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Keeper.")

    @function_tool
    async def restart(self) -> AgentHandoff:
        """Start over with a new agent."""
        return AgentHandoff(Fresh(), keep_history=False)


async def test_a_handoff_can_reset_the_history() -> None:
    async with session_for(tool("restart")) as session:
        await session.start(Keeper())
        await session.run(user_input="start over")
        items = session.history.items
        assert [type(i).__name__ for i in items] == ["ChatMessage", "AgentHandoffItem"]
        assert session.history.instructions == "Fresh start."
        assert isinstance(items[1], AgentHandoffItem) and items[1].old_agent_id == "keeper"


class AskNumber(AgentTask[int]):
    def __init__(self) -> None:
        super().__init__(instructions="Ask for a number.")

    async def on_enter(self) -> None:
        self.session.say("Which number?")

    @function_tool
    async def record(self, number: int) -> None:
        """Record the number.

        Args:
            number: The number.
        """
        self.complete(number)


class Counter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You count.")
        self.numbers: list[int] = []

    async def on_enter(self) -> None:
        self.numbers.append(await AskNumber())  # a task awaited in a hook
        self.session.say(f"Got {self.numbers[-1]}.")


async def test_a_task_awaited_in_on_enter_over_text_turns() -> None:
    counter = Counter()
    async with session_for(tool("record", number=7)) as session:
        await session.start(counter)
        result = await session.run(user_input="seven")
        # start() returned at once: what on_enter did is part of the first run, and comes
        # before the reply to the user's turn
        result.expect.next_event().is_agent_handoff(new_agent_type=AskNumber)
        result.expect.next_event().is_message(role="assistant").contains("which number")
        result.expect.next_event().is_function_call(name="record", arguments={"number": 7})
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=Counter)
        result.expect.next_event().is_message(role="assistant").contains("Got 7")
        assert counter.numbers == [7]
        assert session.current_agent is counter
        texts = [m.text for m in session.history.messages]
        assert texts == ["You count.", "Which number?", "seven", "Got 7."]


async def test_a_task_that_fails_raises_in_its_caller() -> None:
    class Refuse(AgentTask[str]):
        def __init__(self) -> None:
            super().__init__(instructions="x")

        async def on_enter(self) -> None:
            self.complete(ValueError("no"))

    errors: list[str] = []

    class Caller(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="x")

        async def on_enter(self) -> None:
            try:
                await Refuse()
            except ValueError as exc:
                errors.append(str(exc))

    async with session_for() as session:
        await session.start(Caller())
        await session.run(user_input="")
    assert errors == ["no"]


def test_tasks_must_be_awaited_in_a_session() -> None:
    with pytest.raises(RuntimeError, match="inside a tool or an agent's on_enter"):
        AskNumber().__await__()
    with pytest.raises(RuntimeError, match="has not completed"):
        AskNumber().result()
    task = AskNumber()
    task.complete(1)
    with pytest.raises(RuntimeError, match="already completed"):
        task.complete(2)


def test_agent_tools_from_methods_and_arguments() -> None:
    desk = FrontDesk()
    assert [t.name for t in desk.tools] == ["to_sales"]
    assert "self" not in desk.tools[0].parameters.get("properties", {})
    assert desk.id == "front_desk" and Agent(instructions="x", id="custom").id == "custom"
    with pytest.raises(ValueError, match="more than one agent"):
        AgentHandoff.from_tool_output((Sales(), Sales()))
    assert AgentHandoff.from_tool_output("text") is None


class JudgeLLM(ScriptedLLM):
    """A scripted judge that records what it was asked."""

    def __init__(self, verdict: str) -> None:
        super().__init__(replies=[verdict], first_token_delay=0.0, token_delay=0.0)
        self.asked: list[str] = []

    def generate(self, chat: Any, tools: Any, *, step: int = 0) -> Any:
        self.asked.append(chat.messages[-1].text)
        return super().generate(chat, tools, step=step)


async def test_judge_passes_and_fails_with_the_judges_reason() -> None:
    result = made_up_result()
    judge = JudgeLLM("PASS\nIt names green tea.")
    assert (await result.expect[-1].judge(judge, intent="recommends a tea")) is not None
    assert judge.asked == ["Intent: recommends a tea\n\nMessage: Green tea it is."]

    with pytest.raises(AssertionError, match="does not fulfil the intent 'is rude': It is polite"):
        await result.expect[-1].judge(JudgeLLM("FAIL\nIt is polite."), intent="is rude")
    with pytest.raises(AssertionError, match="neither PASS nor FAIL: 'Maybe.'"):
        await result.expect[-1].judge(JudgeLLM("Maybe."), intent="anything")
