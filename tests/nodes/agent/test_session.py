"""AgentSession's API: start, run, say, generate_reply, interrupt, update_agent, hooks, events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from agent_helpers import Voice, at, timeline

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import (
    Agent,
    AgentSession,
    RunContext,
    SessionOptions,
    SpeechHandle,
)
from voicegraph.nodes.llm import (
    ChatContext,
    ChatMessage,
    ScriptedLLM,
    ScriptedReply,
    ScriptedToolCall,
)
from voicegraph.nodes.tools import StopResponse, function_tool
from voicegraph.runner import VirtualClock


def text_session(replies: list[Any], **options: Any) -> AgentSession[Any]:
    return AgentSession(llm=ScriptedLLM(replies=replies), clock=VirtualClock(), **options)


def roles(session: AgentSession[Any]) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in session.history.messages]


async def test_text_session_runs_turns_and_keeps_the_history() -> None:
    async with text_session(["Hello!", "Fine, thanks."]) as session:
        await session.start(Agent(instructions="Be nice."))
        assert session.agent_state == "listening"
        first = await session.run(user_input="Hi")
        first.expect.next_event().is_message(role="assistant").contains("hello")
        first.expect.no_more_events()
        second = await session.run(user_input="How are you?")
        second.expect[0].is_message(role="assistant").matches(r"^Fine")
        assert roles(session) == [
            ("system", "Be nice."),
            ("user", "Hi"),
            ("assistant", "Hello!"),
            ("user", "How are you?"),
            ("assistant", "Fine, thanks."),
        ]
        assert session.graph is not None and {n.path for n in session.graph.iter_nodes()} == {
            "commands",
            "agent",
            "llm",
            "tools",
        }
    assert [e.type for e in session.events][-1] == "close"
    assert session.events[-1].reason == "closed"  # type: ignore[attr-defined]


async def test_say_and_generate_reply_are_queued_in_order() -> None:
    llm = ScriptedLLM(replies=["Generated."])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Agent(instructions="base"))
        hello = session.say("Hello there.")
        reply = session.generate_reply(instructions="Be brief.", user_input="Question?")
        assert isinstance(hello, SpeechHandle) and hello.source == "say"
        assert reply.source == "generate_reply" and reply.user_initiated
        await reply
        assert hello.done() and not hello.interrupted
        assert roles(session)[1:] == [
            ("assistant", "Hello there."),
            ("user", "Question?"),
            ("assistant", "Generated."),
        ]
        # the extra instructions applied to that reply only
        assert session.history.instructions == "base"
        created = [e for e in session.events if e.type == "speech_created"]
        assert [e.source for e in created] == ["say", "generate_reply"]  # type: ignore[attr-defined]


async def test_say_without_adding_to_the_history() -> None:
    async with text_session([]) as session:
        await session.start(Agent(instructions="x"))
        await session.say("Just a sound.", add_to_chat_ctx=False)
        assert roles(session) == [("system", "x")]


async def test_generate_reply_without_tools() -> None:
    calls: list[str] = []

    @function_tool
    def ping() -> str:
        """Ping."""
        calls.append("ping")
        return "pong"

    script = [ScriptedReply(tool_calls=[{"name": "ping"}], text="No tools used.")]  # type: ignore[list-item]
    async with text_session(script) as session:
        await session.start(Agent(instructions="x", tools=[ping]))
        await session.generate_reply(tool_choice="none")
        assert calls == [] and roles(session)[-1] == ("assistant", "No tools used.")


async def test_interrupt_cuts_the_reply_and_drops_the_queue() -> None:
    llm = ScriptedLLM(replies=["one two three four five six seven"], token_delay=1.0)
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        long = session.generate_reply()
        queued = session.say("Never said.")
        clock = session.clock
        assert clock is not None
        await clock.sleep(2.5)  # three words in
        session.interrupt()
        await long
        assert long.interrupted and queued.interrupted and queued.done()
        (message,) = [m for m in session.history.messages if m.role == "assistant"]
        assert message.interrupted and message.text == "one two three"


async def test_speech_handle_interrupt_for_one_reply() -> None:
    llm = ScriptedLLM(replies=["a b c d e f"], token_delay=1.0)
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        first = session.generate_reply()
        second = session.say("After.")
        first.interrupt()
        await second
        assert first.interrupted and not second.interrupted
        assert roles(session)[-1] == ("assistant", "After.")
        locked = session.say("Locked.", allow_interruptions=False)
        with pytest.raises(RuntimeError, match="does not allow interruptions"):
            locked.interrupt()
        await locked


class Greeter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Greet.")
        self.calls: list[str] = []

    async def on_enter(self) -> None:
        self.calls.append("enter")
        self.session.say("Welcome!")

    async def on_exit(self) -> None:
        self.calls.append("exit")


class Helper(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Help.", chat_ctx=ChatContext())

    async def on_enter(self) -> None:
        await self.session.generate_reply()


async def test_hooks_and_update_agent() -> None:
    greeter = Greeter()
    async with text_session(["How can I help?"]) as session:
        await session.start(greeter)
        result = await session.run(user_input="")  # an empty turn: nothing but the greeting
        result.expect.next_event().is_message(role="assistant").contains("welcome")
        session.update_agent(Helper())
        await session.run(user_input="")
        assert greeter.calls == ["enter", "exit"]
        assert isinstance(session.current_agent, Helper)
        # Helper brought its own (empty) context: the greeting is gone, its reply is there
        assert roles(session) == [("system", "Help."), ("assistant", "How can I help?")]


class Screener(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="x")

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        if "secret" in new_message.text:
            raise StopResponse()
        new_message.text = new_message.text.upper()


async def test_on_user_turn_completed_edits_or_stops_the_reply() -> None:
    async with text_session(["Loud and clear."]) as session:
        await session.start(Screener())
        silent = await session.run(user_input="my secret")
        silent.expect.no_more_events()
        loud = await session.run(user_input="hello")
        loud.expect.next_event().is_message(role="assistant")
        assert roles(session)[1:] == [
            ("user", "my secret"),
            ("user", "HELLO"),
            ("assistant", "Loud and clear."),
        ]


@dataclass
class Order:
    items: list[str] = field(default_factory=list)


@function_tool
async def add_item(context: RunContext[Order], item: str) -> str:
    """Add an item to the order.

    Args:
        item: What to add.
    """
    context.userdata.items.append(item)
    return f"{len(context.userdata.items)} items"


async def test_userdata_reaches_tools_through_the_run_context() -> None:
    script = [ScriptedReply(tool_calls=[{"name": "add_item", "arguments": {"item": "tea"}}])]  # type: ignore[list-item]
    order = Order()
    async with AgentSession(
        llm=ScriptedLLM(replies=script), clock=VirtualClock(), userdata=order
    ) as session:
        await session.start(Agent(instructions="x", tools=[add_item]))
        result = await session.run(user_input="Tea please")
        result.expect.next_event().is_function_call(name="add_item", arguments={"item": "tea"})
        result.expect.next_event().is_function_call_output(output="1 items")
        assert session.userdata is order and order.items == ["tea"]
    assert "item" in add_item.parameters["properties"]
    assert "context" not in add_item.parameters["properties"]


async def test_errors_and_misuse_are_clear() -> None:
    with pytest.raises(ConfigError, match="min_endpointing_delay"):
        AgentSession(min_endpointing_delay=2.0, max_endpointing_delay=1.0)
    with pytest.raises(ConfigError, match="invalid AgentSession options"):
        AgentSession(no_such_option=1)
    with pytest.raises(ConfigError, match="either"):
        AgentSession(options=SessionOptions(), max_tool_steps=2)
    session = text_session([])
    with pytest.raises(RuntimeError, match="start"):
        session.say("too early")
    with pytest.raises(ValueError, match="userdata"):
        _ = session.userdata
    with pytest.raises(RuntimeError, match="not running in a session"):
        _ = Agent(instructions="x").session
    async with session:
        await session.start(Agent(instructions="x"))
        with pytest.raises(RuntimeError, match="already started"):
            await session.start(Agent(instructions="x"))
    with pytest.raises(RuntimeError, match="ended"):
        session.say("too late")


def test_a_model_of_the_wrong_kind_fails_when_the_session_is_built() -> None:
    with pytest.raises(ConfigError, match="vad= must be a VADEngine"):
        AgentSession(llm=ScriptedLLM(), vad=ScriptedLLM(), clock=VirtualClock())  # type: ignore[arg-type]


def voice_source(voice: Voice) -> Any:
    from voicegraph.nodes.audio import MemorySource

    return MemorySource(pcm=voice.pcm([(0.5, 1.0)], 3), sample_rate=16000, realtime=True)


async def test_a_failing_node_ends_the_session_with_an_error_event() -> None:
    class Broken(ScriptedLLM):
        async def generate(self, chat: Any, tools: Any, *, step: int = 0) -> Any:
            raise RuntimeError("model crashed")
            yield  # pragma: no cover

    session = AgentSession(llm=Broken(), clock=VirtualClock())
    async with session:
        await session.start(Agent(instructions="x"))
        with pytest.raises(Exception, match="model crashed"):
            await session.run(user_input="hi")
    kinds = [e.type for e in session.events]
    assert kinds[-2:] == ["error", "close"]
    assert session.events[-1].reason == "error"  # type: ignore[attr-defined]


async def test_start_without_async_with_and_close_twice() -> None:
    session = text_session(["Hi!"])
    await session.start(Agent(instructions="x"))
    result = await session.run(user_input="Hello")
    result.expect.next_event().is_message(role="assistant")
    await session.aclose()
    await session.aclose()
    with pytest.warns(DeprecationWarning, match="use await session.aclose"):
        await session.close()  # the old name still works
    assert session.events[-1].type == "close"


async def test_say_without_interruptions_is_not_cut_by_the_user(voice: Voice) -> None:
    class Announcer(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="x")

        async def on_enter(self) -> None:
            self.session.say(
                "Please listen to this important notice until the end.",
                allow_interruptions=False,
            )

    session = await voice.converse(Announcer(), said=[(1.0, 1.5, "Hello?")], seconds=6)
    (notice,) = [m for m in session.history.messages if m.role == "assistant"]
    assert not notice.interrupted
    assert session.pipeline is not None and session.pipeline.turn.interruptions == []
    # the user's words during the notice are not answered either
    assert [d for _, d in timeline(session, "speech_created")] == ["speech:say"]


async def test_audio_session_events_and_metrics(voice: Voice) -> None:
    session = await voice.converse(
        Agent(instructions="x"), said=[(0.5, 1.5, "What time is it?")], seconds=5,
        replies=["Noon."],
    )  # fmt: skip
    assert at(session, "transcribed:What time is it?") == at(session, "user:listening")
    metrics = [type(e.metrics).__name__ for e in session.events if e.type == "metrics_collected"]  # type: ignore[attr-defined]
    assert sorted(metrics) == ["EOUMetrics", "LLMMetrics", "STTMetrics", "TTSMetrics"]
    assert [d for _, d in timeline(session, "close")] == ["close"]
    assert session.events[-1].reason == "input_ended"  # type: ignore[attr-defined]
    assert session.pipeline is not None
    assert [u.role for u in session.pipeline.log.utterances] == ["user", "agent"]
    assert session.pipeline.turn_metrics()[0].voice_to_voice_from_vad is not None


async def test_an_idle_text_session_lets_your_code_take_real_time() -> None:
    import anyio

    async with text_session(["Hi!"], user_away_timeout=None) as session:
        await session.start(Agent(instructions="x"))
        await session.run(user_input="Hello")
        await anyio.sleep(0.05)  # no timer of the virtual clock pending: still not a deadlock
        result = await session.run(user_input="Still there?")
        result.expect.no_more_events()  # the script has no second reply: an empty one


async def test_a_stuck_reply_is_reported_as_a_deadlock() -> None:
    from voicegraph.graph import DeadlockError

    class Stuck(ScriptedLLM):
        async def generate(self, chat: Any, tools: Any, *, step: int = 0) -> Any:
            import anyio

            await anyio.Event().wait()  # never set, no timer: nothing can move
            yield  # pragma: no cover

    async with AgentSession(llm=Stuck(), clock=VirtualClock(), user_away_timeout=None) as s:
        await s.start(Agent(instructions="x"))
        with pytest.raises(DeadlockError, match="stuck"):
            await s.run(user_input="hi")


async def test_function_tools_executed_fires_when_the_results_are_in() -> None:
    @function_tool
    async def slow_lookup(context: RunContext) -> str:
        """Look something up (takes half a second)."""
        await context.session.clock.sleep(0.5)
        return "found"

    call = ScriptedReply(tool_calls=[ScriptedToolCall(name="slow_lookup")], text="Found it.")
    async with text_session([call]) as session:
        await session.start(Agent(instructions="x", tools=[slow_lookup]))
        await session.run(user_input="Look it up.")
    (executed,) = [e for e in session.events if e.type == "function_tools_executed"]
    # the call came 0.1 s into the reply, the result 0.5 s later; the answer's first word
    # another 0.1 s after that (the scripted first-token delay) must not hold the event back
    assert executed.created_at == pytest.approx(0.6, abs=1e-6)
