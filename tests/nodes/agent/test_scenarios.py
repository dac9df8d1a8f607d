"""The scenario table of docs/agents.md: one test per row, on the real voice graph.

Every test runs an AgentSession on user audio made of real speech (cut from the bundled
``question.wav``) and silence, with the real Silero VAD, turn detector, controller, LLM node,
tool executor, splitter, TTS node and audio output, under the virtual clock; only the models
that would make it slow or vague are scripted (ScriptedSTT, ScriptedLLM, ScriptedTTS: 0.06 s
of audio per character). Each asserts on the session's event timeline.
"""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import Voice, at, timeline

from voicegraph.nodes.agent import Agent, AgentController, AgentSession, AgentTask, RunContext
from voicegraph.nodes.llm import ChatMessage, FunctionCallOutput, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.tools import ToolError, function_tool

STORY = "Once upon a time there was a dragon who wanted to fly over the high mountains."


def call(name: str, **arguments: Any) -> ScriptedToolCall:
    return ScriptedToolCall(name=name, arguments=arguments)


def conversation(session: Any) -> list[str]:
    """The committed messages, handoffs and tool rounds, in order."""
    kinds = ("conversation_item_added", "function_tools_executed")
    return [d for _, d in timeline(session, *kinds)]


def assistant_messages(session: Any) -> list[ChatMessage]:
    return [m for m in session.history.messages if m.role == "assistant"]


# ---------------------------------------------------------------------------- turn taking


async def test_barge_in_mid_sentence_keeps_only_the_played_words(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="Tell stories."),
        said=[(0.5, 1.5, "Tell me a story."), (4.0, 1.5, "Stop. What about Paris?")],
        seconds=9,
        replies=[STORY, "Paris is lovely."],
    )
    speaking = at(session, "agent:speaking")
    cut = timeline(session, "agent_state_changed")[3]
    assert cut[1] == "agent:listening"
    # the user started at 4.0 (VAD: 4.08); 0.5 s of speech later the agent stopped
    assert 4.5 <= cut[0] <= 4.62
    first = assistant_messages(session)[0]
    assert first.interrupted
    assert STORY.startswith(first.text) and 0 < len(first.text) < len(STORY)
    # the text kept is what 0.06 s per character of audio played before the cut
    played = cut[0] - speaking
    assert abs(len(first.text) - played / 0.06) <= 6, (first.text, played)
    # the cut reply is committed before the user's next message, which is answered next
    cut_at = at(session, f"assistant:{first.text}[cut]")
    assert cut_at < at(session, "user:Stop. What about Paris?"), timeline(session)
    assert assistant_messages(session)[1].text == "Paris is lovely."
    items = timeline(session, "conversation_item_added")
    assert [d for _, d in items] == [
        "handoff:None->agent",  # the first agent's activation, as LiveKit records it
        "user:Tell me a story.",
        f"assistant:{first.text}[cut]",
        "user:Stop. What about Paris?",
        "assistant:Paris is lovely.",
    ]


async def test_false_interruption_then_resume(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="Tell stories."),
        said=[(0.5, 1.5, "Tell me a story."), (4.0, 0.8, "")],  # a cough: no words
        seconds=12,
        replies=[STORY],
    )
    states = timeline(session, "agent_state_changed", "agent_false_interruption")
    descriptions = [d for _, d in states]
    assert descriptions == [
        "agent:listening",
        "agent:thinking",
        "agent:speaking",
        "agent:listening",  # paused by the user's speech
        "agent:speaking",  # resumed: no words came
        "false_interruption:resumed=True",
        "agent:listening",  # the story ended
    ]
    paused, resumed = states[3][0], states[4][0]
    assert 4.5 <= paused <= 4.62
    user_stopped = [t for t, d in timeline(session) if d == "user:listening"][1]
    assert abs(resumed - (user_stopped + 2.0)) <= 0.03  # false_interruption_timeout
    (story,) = assistant_messages(session)
    assert story.text == STORY and not story.interrupted
    # the whole story played: its length plus the pause
    end = states[-1][0]
    assert abs((end - states[2][0]) - (len(STORY) * 0.06 + (resumed - paused))) <= 0.1


async def test_short_backchannel_does_not_interrupt(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="Tell stories."),
        said=[(0.5, 1.5, "Tell me a story."), (4.0, 0.3, "uh-huh")],
        seconds=10,
        replies=[STORY, "Never used."],
    )
    assert [d for _, d in timeline(session, "agent_state_changed")] == [
        "agent:listening",
        "agent:thinking",
        "agent:speaking",
        "agent:listening",
    ]
    assert [d for _, d in timeline(session, "speech_created")] == ["speech:generate_reply"]
    (story,) = assistant_messages(session)
    assert story.text == STORY and not story.interrupted
    assert session.pipeline is not None and session.pipeline.turn.ignored == ["uh-huh"]
    assert "user:uh-huh" not in [d for _, d in timeline(session)]


async def test_end_of_turn_after_the_min_delay(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"),
        said=[(0.5, 1.5, "Tell me the weather.")],
        seconds=6,
        replies=["Sunny."],
    )
    stopped = at(session, "user:listening")
    assert abs(at(session, "speech:generate_reply") - stopped - 0.45) <= 0.021


async def test_end_of_turn_after_the_max_delay_when_unfinished(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"),
        said=[(0.5, 1.5, "I want to book a table and")],
        seconds=8,
        replies=["Go on."],
    )
    stopped = at(session, "user:listening")
    assert abs(at(session, "speech:generate_reply") - stopped - 3.0) <= 0.021


def controller(session: AgentSession[Any]) -> AgentController:
    """The session's controller node (found in its graph)."""
    assert session.pipeline is not None and session.pipeline.controller is not None
    return session.pipeline.controller


async def test_preemptive_generation_kept(voice: Voice) -> None:
    said = [(0.5, 1.5, "Tell me the weather.")]
    ahead = await voice.converse(Agent(instructions="x"), said=said, seconds=6, replies=["Sunny."])
    late = await voice.converse(
        Agent(instructions="x"),
        said=said,
        seconds=6,
        replies=["Sunny."],
        preemptive_generation=False,
    )
    assert controller(ahead).preemptive == [("Tell me the weather.", True)]
    assert controller(late).preemptive == []
    for session in (ahead, late):
        assert [m.text for m in assistant_messages(session)] == ["Sunny."]
    # generated ahead: the reply plays the moment the turn ends; else after the LLM's 0.1 s
    created = at(ahead, "speech:generate_reply")
    assert at(ahead, "agent:speaking") == created
    assert abs(at(late, "agent:speaking") - at(late, "speech:generate_reply") - 0.1) <= 0.011


async def test_preemptive_generation_discarded_when_the_user_goes_on(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"),
        # 0.5 s pause: long enough for the VAD to end the first segment (0.25 s; and a
        # transcript to come), short enough to continue before the endpointing delay
        # (0.4 s more) ends the turn
        said=[(0.5, 1.0, "I would like a table"), (2.0, 1.0, "for two people.")],
        seconds=8,
        replies=["(generated ahead, then discarded)", "A table for two, noted."],
    )
    assert controller(session).preemptive == [
        ("I would like a table", False),
        ("I would like a table for two people.", True),
    ]
    messages = [(m.role, m.text) for m in session.history.messages]
    assert messages == [
        ("system", "x"),
        ("user", "I would like a table for two people."),
        ("assistant", "A table for two, noted."),
    ]
    assert [d for _, d in timeline(session, "speech_created")] == ["speech:generate_reply"]


async def test_user_away_after_the_timeout(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"),
        said=[(0.5, 1.5, "Hello?")],
        seconds=25,
        replies=["Hi!"],
    )
    replied = [t for t, d in timeline(session) if d == "agent:listening"][-1]
    assert at(session, "user:away") == pytest.approx(replied + 15.0)
    short = await voice.converse(
        Agent(instructions="x"),
        said=[(0.5, 1.5, "Hello?")],
        seconds=12,
        replies=["Hi!"],
        user_away_timeout=5.0,
    )
    replied = [t for t, d in timeline(short) if d == "agent:listening"][-1]
    assert at(short, "user:away") == pytest.approx(replied + 5.0)


# ---------------------------------------------------------------------------- tools


@function_tool
async def get_weather(city: str) -> str:
    """Look up the weather.

    Args:
        city: The city.
    """
    return f"Sunny in {city}."


async def test_tool_call_then_reply(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x", tools=[get_weather]),
        said=[(0.5, 1.5, "Weather in Paris?")],
        seconds=8,
        replies=[
            ScriptedReply(
                preamble="Let me check.",
                tool_calls=[call("get_weather", city="Paris")],
                text="It is sunny in Paris.",
            )
        ],
    )
    described = [d for _, d in timeline(session) if not d.startswith(("metrics", "user:"))]
    assert described[described.index("speech:generate_reply") :] == [
        "speech:generate_reply",
        "agent:thinking",
        "agent:speaking",
        "tools:get_weather",
        "assistant:Let me check.",
        "assistant:It is sunny in Paris.",
        "agent:listening",
        "close",
    ]
    (executed,) = [e for e in session.events if e.type == "function_tools_executed"]
    ((fn_call, output),) = executed.zipped()  # type: ignore[attr-defined]
    assert (fn_call.name, fn_call.arguments, output.output) == (
        "get_weather",
        '{"city": "Paris"}',
        "Sunny in Paris.",
    )


async def test_parallel_tool_calls(voice: Voice) -> None:
    runs: list[tuple[str, float, float]] = []

    @function_tool
    async def check_table(context: RunContext[Any], day: str) -> str:
        """Check for a free table.

        Args:
            day: The day.
        """
        clock = context.session.clock
        start = clock.now()
        await clock.sleep(1.0)
        runs.append((day, start, clock.now()))
        return f"free on {day}"

    session = await voice.converse(
        Agent(instructions="x", tools=[check_table]),
        said=[(0.5, 1.5, "Friday or Saturday?")],
        seconds=10,
        replies=[
            ScriptedReply(
                tool_calls=[call("check_table", day="Friday"), call("check_table", day="Saturday")],
                text="Both days are free.",
            )
        ],
    )
    assert [r[0] for r in runs] == ["Friday", "Saturday"]
    assert runs[0][1] == runs[1][1] and runs[0][2] == runs[1][2]  # side by side
    (executed,) = [e for e in session.events if e.type == "function_tools_executed"]
    outputs = [o.output for o in executed.function_call_outputs]  # type: ignore[attr-defined]
    assert outputs == ["free on Friday", "free on Saturday"]
    # the reply came one tool-second (plus the LLM's 0.1 s) after the calls, not two
    assert runs[0][2] - runs[0][1] == pytest.approx(1.0)
    assert runs[0][2] + 0.1 <= at(session, "agent:speaking") <= runs[0][2] + 0.2


async def test_a_tool_that_raises_reports_the_error_to_the_llm(voice: Voice) -> None:
    @function_tool
    def book(day: str) -> str:
        """Book a table.

        Args:
            day: The day.
        """
        raise ToolError(f"no table left on {day}")

    session = await voice.converse(
        Agent(instructions="x", tools=[book]),
        said=[(0.5, 1.5, "Book Friday.")],
        seconds=8,
        replies=[
            ScriptedReply(tool_calls=[call("book", day="Friday")], text="Sorry, Friday is full.")
        ],
    )
    outputs = [i for i in session.history.items if isinstance(i, FunctionCallOutput)]
    assert [(o.output, o.is_error) for o in outputs] == [("no table left on Friday", True)]
    assert [d for _, d in timeline(session, "function_tools_executed", "conversation_item_added")][
        2:
    ] == ["tools:book", "assistant:Sorry, Friday is full."]


async def test_a_tool_that_times_out(voice: Voice) -> None:
    @function_tool(timeout=1.0)
    async def slow_lookup(context: RunContext[Any]) -> str:
        """Look something up, slowly."""
        await context.session.clock.sleep(30.0)
        return "too late"

    session = await voice.converse(
        Agent(instructions="x", tools=[slow_lookup]),
        said=[(0.5, 1.5, "Look it up.")],
        seconds=8,
        replies=[ScriptedReply(tool_calls=[call("slow_lookup")], text="That took too long.")],
    )
    (output,) = [i for i in session.history.items if isinstance(i, FunctionCallOutput)]
    assert output.is_error and "timed out after 1 s" in output.output
    created = at(session, "speech:generate_reply")
    # generated ahead of the end of the turn, the call ran once the turn ended and failed
    # 1 s later; the answer took the LLM another 0.1 s (and its words 0.03 s)
    assert created + 1.1 <= at(session, "agent:speaking") <= created + 1.2
    assert assistant_messages(session)[-1].text == "That took too long."


async def test_max_tool_steps_then_an_answer_without_tools(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x", tools=[get_weather]),
        said=[(0.5, 1.5, "Weather everywhere?")],
        seconds=8,
        replies=[
            ScriptedReply(tool_calls=[call("get_weather", city="Rome")], rounds=5, text="Done.")
        ],
        max_tool_steps=2,
    )
    assert [d for _, d in timeline(session, "function_tools_executed")] == [
        "tools:get_weather",
        "tools:get_weather",
    ]
    assert [m.text for m in assistant_messages(session)] == ["Done."]
    assert [m.step for m in session.llm.metrics] == [0, 1, 2]
    assert session.llm.metrics[-1].tool_calls == 0


# ---------------------------------------------------------------------------- agents


class Booking(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You take table bookings.")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Ask for the number of guests.")

    @function_tool
    async def book_table(self, guests: int) -> str:
        """Book a table.

        Args:
            guests: How many people.
        """
        return f"table for {guests} booked"


class Receptionist(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You answer the phone.")

    @function_tool
    async def transfer_to_booking(self) -> Agent:
        """Transfer the caller to the booking desk."""
        return Booking()


async def test_handoff_preserves_the_history(voice: Voice) -> None:
    session = await voice.converse(
        Receptionist(),
        said=[(0.5, 1.5, "I'd like to book."), (6.0, 1.5, "Four people.")],
        seconds=12,
        replies=[
            ScriptedReply(tool_calls=[call("transfer_to_booking")]),
            "Booking desk here. For how many?",
            ScriptedReply(tool_calls=[call("book_table", guests=4)], text="Booked for four."),
        ],
    )
    assert isinstance(session.current_agent, Booking)
    described = [
        d for _, d in timeline(session, "conversation_item_added", "function_tools_executed")
    ]
    assert described == [
        "handoff:None->receptionist",
        "user:I'd like to book.",
        "tools:transfer_to_booking",
        "handoff:receptionist->booking",
        "assistant:Booking desk here. For how many?",
        "user:Four people.",
        "tools:book_table",
        "assistant:Booked for four.",
    ]
    history = session.history
    assert history.instructions == "You take table bookings."
    assert history.messages[1].text == "I'd like to book."  # the receptionist's turn is kept
    assert set(session.llm.tools) == {"book_table"}
    # the receptionist did not reply to the transfer: the booking agent spoke next
    assert [m.text for m in assistant_messages(session)] == [
        "Booking desk here. For how many?",
        "Booked for four.",
    ]


class GetEmail(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="Ask for an email address.")

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def record_email(self, email: str) -> None:
        """Record the email address.

        Args:
            email: The address.
        """
        self.complete(email)


class Host(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You confirm bookings.")
        self.emails: list[str] = []

    @function_tool
    async def confirm(self, context: RunContext[Any]) -> str:
        """Send a confirmation."""
        email = await GetEmail()
        self.emails.append(email)
        return f"confirmation sent to {email}"


async def test_time_awaiting_an_agent_task_does_not_count_against_the_tools_timeout(
    voice: Voice,
) -> None:
    # the task talks to the user for ~6 s of the tool's 2 s limit: the countdown is paused
    host = Host()
    await voice.converse(
        host,
        said=[(0.5, 1.5, "Please confirm."), (6.0, 1.5, "It is ann at example dot com.")],
        seconds=14,
        replies=[
            ScriptedReply(preamble="Sure.", tool_calls=[call("confirm")], text="Done, sent!"),
            "What is your email?",
            ScriptedReply(tool_calls=[call("record_email", email="ann@example.com")]),
        ],
        tool_timeout=2.0,
    )
    assert host.emails == ["ann@example.com"]


class SlowHost(Host):
    @function_tool
    async def confirm(self, context: RunContext[Any]) -> str:
        """Send a confirmation."""
        email = await GetEmail()
        await context.session.clock.sleep(3.0)  # not in a task: this counts
        self.emails.append(email)
        return "sent"


async def test_the_tools_time_outside_the_task_still_counts(voice: Voice) -> None:
    host = SlowHost()
    session = await voice.converse(
        host,
        said=[(0.5, 1.5, "Please confirm."), (6.0, 1.5, "It is ann at example dot com.")],
        seconds=16,
        replies=[
            ScriptedReply(preamble="Sure.", tool_calls=[call("confirm")], text="Done, sent!"),
            "What is your email?",
            ScriptedReply(tool_calls=[call("record_email", email="ann@example.com")]),
        ],
        tool_timeout=2.0,
    )
    assert host.emails == []
    outputs = [i for i in session.history.items if i.type == "function_call_output"]
    assert any(o.name == "confirm" and "timed out after 2 s" in o.output for o in outputs)


async def test_agent_task_returns_a_typed_result(voice: Voice) -> None:
    host = Host()
    session = await voice.converse(
        host,
        said=[(0.5, 1.5, "Please confirm."), (6.0, 1.5, "It is ann at example dot com.")],
        seconds=14,
        replies=[
            ScriptedReply(preamble="Sure.", tool_calls=[call("confirm")], text="Done, sent!"),
            "What is your email?",
            ScriptedReply(tool_calls=[call("record_email", email="ann@example.com")]),
        ],
    )
    assert host.emails == ["ann@example.com"]
    described = [
        d for _, d in timeline(session, "conversation_item_added", "function_tools_executed")
    ]
    assert described == [
        "handoff:None->host",
        "user:Please confirm.",
        "assistant:Sure.",  # the host's reply, set aside while the task talks to the user
        "handoff:host->get_email",
        "assistant:What is your email?",
        "user:It is ann at example dot com.",
        "tools:record_email",
        "handoff:get_email->host",
        "tools:confirm",
        "assistant:Done, sent!",  # the host's reply goes on with the task's result
    ]
    assert session.current_agent is host
    outputs = [i for i in session.history.items if isinstance(i, FunctionCallOutput)]
    assert [o.output for o in outputs] == ["confirmation sent to ann@example.com"]
    assert session.history.instructions == "You confirm bookings."
