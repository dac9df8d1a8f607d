"""LLMNode behaviour with ScriptedLLM: streaming, tool rounds, playout truncation, interrupts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from voicegraph.graph import (
    ConfigError,
    Control,
    Engine,
    Event,
    Graph,
    In,
    LLMText,
    Node,
    NodeError,
    Out,
    PlayoutMark,
    SpeechStarted,
    ToolCall,
    ToolResult,
    UserTurn,
    graph_to_dict,
)
from voicegraph.nodes._closing import CLOSE_TIMEOUT
from voicegraph.nodes.llm import (
    DEFAULT_INSTRUCTIONS,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    LlamaLLM,
    LLMChunk,
    LLMEngine,
    LLMNode,
    ScriptedLLM,
    ScriptedReply,
    ScriptedToolCall,
)
from voicegraph.nodes.tools import ToolExecutor, function_tool
from voicegraph.runner import Runner, VirtualClock

STORY = "Once upon a time a small dragon lived on a hill and dreamed every night of flying."


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    if city == "Atlantis":
        raise ValueError("no such city")
    return f"Sunny, 22 C in {city}"


@function_tool
def get_time() -> str:
    """Get the time."""
    return "12:00"


class Turns(Node):
    """Emits user turns at given times; may interrupt downstream (a barge-in) at given times."""

    out: Out[UserTurn]

    def __init__(
        self,
        turns: list[tuple[float, str]],
        interrupts: tuple[float, ...] = (),
        events: tuple[tuple[float, Event], ...] = (),
    ) -> None:
        super().__init__()
        self.script: list[tuple[float, str, object]] = sorted(
            [(t, "turn", text) for t, text in turns]
            + [(t, "interrupt", None) for t in interrupts]
            + [(t, "event", e) for t, e in events],
            key=lambda item: item[0],
        )

    async def run(self) -> None:
        while self.script:
            at, kind, value = self.script.pop(0)
            await self.clock.sleep_until(at)
            if kind == "turn":
                assert isinstance(value, str)
                await self.emit(self.out, UserTurn(value, decided=at))
            elif kind == "interrupt":
                self.interrupt("barge-in")
            else:
                assert isinstance(value, Event)
                await self.send_event(value, self.out)
        await self.clock.sleep(3600)  # stay alive: the test stops the run


class Speaker(Node):
    """Collects reply text like an audio output; after a reply it reports a playout mark.

    ``heard`` words of each reply count as played; if fewer than the reply, the mark says
    the reply was interrupted. Forwards events (like a naive output), to test loop safety.
    """

    text: In[LLMText]
    played: Out[Control]

    def __init__(self, heard: int | None = None) -> None:
        super().__init__()
        self.heard = heard
        self.frames: list[tuple[float, LLMText]] = []
        self.events: list[Event] = []
        self.finals = 0
        self._changed: anyio.Event | None = None
        self._reply: list[str] = []

    async def on_text(self, frame: LLMText) -> None:
        self.frames.append((self.clock.now(), frame))
        self._reply.append(frame.text)
        if frame.final:
            self.finals += 1
            if self.heard is not None:
                words = "".join(self._reply).split()
                cut = len(words) > self.heard
                played = " ".join(words[: self.heard])
                mark = PlayoutMark(1.0, played, interrupted=cut, final=not cut, epoch=frame.epoch)
                await self.send_event(mark, self.played)
            self._reply = []
            if self._changed is not None:
                self._changed.set()

    async def on_event(self, event: Event) -> None:
        self.events.append(event)
        await super().on_event(event)

    async def wait_finals(self, n: int) -> None:
        while self.finals < n:
            self._changed = anyio.Event()
            await self._changed.wait()

    def replies(self) -> list[str]:
        out, current = [], ""
        for _, frame in self.frames:
            current += frame.text
            if frame.final:
                out.append(current)
                current = ""
        return out


class Calls(Node):
    inp: In[ToolCall]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[ToolCall] = []

    async def on_inp(self, frame: ToolCall) -> None:
        self.got.append(frame)


class NoResults(Node):
    calls: In[ToolCall]
    results: Out[ToolResult]

    async def on_calls(self, frame: ToolCall) -> None:
        pass


def build(
    llm: LLMNode,
    turns: Turns,
    *,
    executor: ToolExecutor | None = None,
    speaker: Speaker | None = None,
) -> tuple[Graph, Speaker, Calls]:
    g = Graph()
    g.add(turns, name="turns")
    g.add(llm, name="llm")
    speaker = g.add(speaker or Speaker(), name="speaker")
    calls = g.add(Calls(), name="calls")
    g.connect(turns.out, llm.turn)
    g.connect(llm.text, speaker.text)
    g.connect(llm.tool_calls, calls.inp)
    if executor is not None:
        g.add(executor, name="tools")
        g.connect(llm.tool_calls, executor.calls)
        g.connect(executor.results, llm.tool_results, feedback=True)
    if speaker.heard is not None:
        g.connect(speaker.played, llm.playout, feedback=True)
    return g, speaker, calls


async def run_until_replies(g: Graph, speaker: Speaker, replies: int) -> float:
    """Run on a virtual clock until ``replies`` replies have ended; return the clock time."""
    clock = VirtualClock()
    async with Runner(g, clock=clock, detect_deadlock=False) as runner:
        with anyio.fail_after(10):  # real seconds: a safety net only
            await speaker.wait_finals(replies)
            await clock.sleep(0.5)  # let playout marks and stray frames arrive
        runner.stop()
    return clock.now()


async def test_streams_a_reply_word_by_word() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=["Hello there, how can I help?"]))
    g, speaker, _ = build(llm, Turns([(1.0, "Hi")]))
    await run_until_replies(g, speaker, 1)
    texts = [f.text for _, f in speaker.frames]
    assert texts == ["Hello", " there,", " how", " can", " I", " help?", ""]
    assert [f.final for _, f in speaker.frames] == [False] * 6 + [True]
    times = [t for t, _ in speaker.frames]
    assert times[0] == pytest.approx(1.1)  # first_token_delay 0.1
    assert times[5] == pytest.approx(1.15)  # then 0.01 per word
    assert [(m.role, m.text) for m in llm.chat.messages] == [
        ("system", DEFAULT_INSTRUCTIONS),
        ("user", "Hi"),
        ("assistant", "Hello there, how can I help?"),
    ]
    (metrics,) = llm.metrics
    assert metrics.ttft == pytest.approx(0.1)
    assert metrics.duration == pytest.approx(0.15)
    assert (metrics.completion_tokens, metrics.tool_calls, metrics.cancelled) == (6, 0, False)
    assert metrics.tokens_per_second == pytest.approx(100.0)


async def test_tool_call_then_reply_through_a_feedback_edge() -> None:
    reply = ScriptedReply(
        preamble="Let me check.",
        tool_calls=[
            ScriptedToolCall(name="get_weather", arguments={"city": "Paris"}),
            ScriptedToolCall(name="get_time"),
        ],
        text="It is sunny in Paris.",
    )
    llm = LLMNode(engine=ScriptedLLM(replies=[reply]), tools=[get_weather, get_time])
    executor = ToolExecutor(tools=[get_weather, get_time])
    g, speaker, calls = build(llm, Turns([(0.0, "Weather in Paris?")]), executor=executor)
    await run_until_replies(g, speaker, 1)
    assert [(c.name, c.arguments) for c in calls.got] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_time", "{}"),
    ]
    assert speaker.replies() == ["Let me check. It is sunny in Paris."]
    assert any(type(e).__name__ == "Flush" for e in speaker.events)  # preamble flushed to TTS
    items = llm.chat.items[1:]
    assert [type(i).__name__ for i in items] == [
        "ChatMessage",
        "ChatMessage",
        "FunctionCall",
        "FunctionCall",
        "FunctionCallOutput",
        "FunctionCallOutput",
        "ChatMessage",
    ]
    outputs = [i for i in items if isinstance(i, FunctionCallOutput)]
    assert [(o.call_id, o.output, o.is_error) for o in outputs] == [
        ("call_1_1_0", "Sunny, 22 C in Paris", False),
        ("call_1_1_1", "12:00", False),
    ]
    assert [m["role"] for m in llm.chat.to_openai_messages()] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    assert [(m.step, m.tool_calls) for m in llm.metrics] == [(0, 2), (1, 0)]


async def test_tool_errors_go_back_to_the_model() -> None:
    reply = ScriptedReply(
        tool_calls=[ScriptedToolCall(name="get_weather", arguments={"city": "Atlantis"})],
        text="Sorry, I could not find that city.",
    )
    llm = LLMNode(engine=ScriptedLLM(replies=[reply]), tools=[get_weather])
    g, speaker, _ = build(
        llm, Turns([(0.0, "Weather in Atlantis?")]), executor=ToolExecutor(tools=[get_weather])
    )
    await run_until_replies(g, speaker, 1)
    (output,) = [i for i in llm.chat.items if isinstance(i, FunctionCallOutput)]
    assert output.is_error
    assert output.output == "tool 'get_weather' failed: ValueError: no such city"
    assert speaker.replies() == ["Sorry, I could not find that city."]


async def test_max_tool_steps_then_reply_without_tools() -> None:
    reply = ScriptedReply(
        tool_calls=[ScriptedToolCall(name="get_time")], text="Enough tools.", rounds=10
    )
    llm = LLMNode(
        engine=ScriptedLLM(replies=[reply, "Second."]), tools=[get_time], max_tool_steps=2
    )
    g, speaker, calls = build(
        llm, Turns([(0.0, "Time?"), (5.0, "Again")]), executor=ToolExecutor(tools=[get_time])
    )
    await run_until_replies(g, speaker, 2)
    assert [c.call_id for c in calls.got] == ["call_1_1_0", "call_1_2_0"]
    assert speaker.replies() == ["Enough tools.", "Second."]
    assert [(m.step, m.tool_calls) for m in llm.metrics] == [(0, 1), (1, 1), (2, 0), (0, 0)]


async def test_playout_mark_truncates_the_last_assistant_message() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=[STORY, "Paris is the capital of France."]))
    turns = Turns([(0.0, "Tell me a story"), (3.0, "Capital of France?")])
    g, speaker, _ = build(llm, turns, speaker=Speaker(heard=5))
    await run_until_replies(g, speaker, 2)
    first, second = (m for m in llm.chat.messages if m.role == "assistant")
    assert (first.text, first.interrupted) == ("Once upon a time a", True)
    assert (second.text, second.interrupted) == ("Paris is the capital of", True)


async def test_playout_mark_with_nothing_heard_keeps_an_empty_message() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=[STORY]))
    g, speaker, _ = build(llm, Turns([(0.0, "Story?")]), speaker=Speaker(heard=0))
    await run_until_replies(g, speaker, 1)
    assert llm.chat.items[-1] == ChatMessage(
        id=llm.chat.items[-1].id, role="assistant", text="", interrupted=True
    )


async def test_complete_playout_leaves_the_message_alone() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=["Short answer."]))
    g, speaker, _ = build(llm, Turns([(0.0, "Q")]), speaker=Speaker(heard=100))
    await run_until_replies(g, speaker, 1)
    message = llm.chat.last_assistant
    assert message is not None and (message.text, message.interrupted) == ("Short answer.", False)


async def test_playout_spanning_a_tool_round_splits_over_the_reply_messages() -> None:
    reply = ScriptedReply(
        preamble="Let me check the weather.",
        tool_calls=[ScriptedToolCall(name="get_weather", arguments={"city": "Paris"})],
        text="It is sunny and warm in Paris today.",
    )
    llm = LLMNode(engine=ScriptedLLM(replies=[reply]), tools=[get_weather])
    g, speaker, _ = build(
        llm,
        Turns([(0.0, "Weather?")]),
        executor=ToolExecutor(tools=[get_weather]),
        speaker=Speaker(heard=8),
    )
    await run_until_replies(g, speaker, 1)
    preamble, answer = (m for m in llm.chat.messages if m.role == "assistant")
    assert (preamble.text, preamble.interrupted) == ("Let me check the weather.", False)
    assert (answer.text, answer.interrupted) == ("It is sunny", True)


async def test_interrupt_mid_reply_stops_the_stream() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=[STORY, "Paris."], token_delay=0.05))
    turns = Turns([(0.0, "Tell me a story"), (2.0, "Tell me about Paris")], interrupts=(0.33,))
    g, speaker, _ = build(llm, turns)
    await run_until_replies(g, speaker, 1)
    first = [(t, f) for t, f in speaker.frames if f.epoch == 0]
    # words at 0.10, 0.15, ... 0.30; nothing after the interrupt at 0.33, and no final
    assert [f.text for _, f in first] == ["Once", " upon", " a", " time", " a"]
    assert all(t < 0.33 for t, _ in first) and not any(f.final for _, f in first)
    assert speaker.replies() == ["Once upon a time aParis."]  # the sink saw both epochs
    assert [(f.text, f.epoch) for _, f in speaker.frames[-2:]] == [("Paris.", 1), ("", 1)]
    story, paris = (m for m in llm.chat.messages if m.role == "assistant")
    # the partial text stays in the context, marked interrupted, until a playout mark corrects it
    assert (story.text, story.interrupted) == ("Once upon a time a", True)
    assert (paris.text, paris.interrupted) == ("Paris.", False)
    assert [m.cancelled for m in llm.metrics] == [True, False]
    assert llm.metrics[0].completion_tokens == 5
    # a late mark for the old epoch corrects the old reply, not the newest one
    llm.apply_playout(PlayoutMark(0.2, "Once upon", interrupted=True, epoch=0))
    assert story.text == "Once upon a time a"  # the chat holds a corrected copy; items are shared
    story, paris = (m for m in llm.chat.messages if m.role == "assistant")
    assert (story.text, paris.text) == ("Once upon", "Paris.")


class Withdrawing(Speaker):
    """Takes the reply's message out of the chat after its third word, as a discarded
    preemptive generation does before its interrupt reaches the LLM."""

    def __init__(self, llm: LLMNode) -> None:
        super().__init__()
        self.llm = llm

    async def on_text(self, frame: LLMText) -> None:
        await super().on_text(frame)
        if len(self.frames) == 3:
            chat = self.llm.chat
            chat.items = [i for i in chat.items if getattr(i, "role", None) != "assistant"]


async def test_a_reply_withdrawn_from_the_chat_mid_stream_is_not_an_error() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=[STORY, "Paris."], token_delay=0.05))
    turns = Turns([(0.0, "Tell me a story"), (2.0, "Tell me about Paris")], interrupts=(0.33,))
    g = Graph()
    src, node = g.add(turns, name="turns"), g.add(llm, name="llm")
    speaker = g.add(Withdrawing(llm), name="speaker")
    g.connect(src.out, node.turn)
    g.connect(node.text, speaker.text)
    await run_until_replies(g, speaker, 1)
    assert [f.text for _, f in speaker.frames if f.epoch == 1] == ["Paris.", ""]
    assert [m.text for m in llm.chat.messages if m.role == "assistant"] == ["Paris."]


async def test_a_reply_cut_before_its_first_word_leaves_older_replies_alone() -> None:
    llm = LLMNode(
        engine=ScriptedLLM(replies=["First answer.", STORY, "Third."], first_token_delay=0.2)
    )
    turns = Turns([(0.0, "One"), (1.0, "Two"), (2.0, "Three")], interrupts=(1.1,))
    g, speaker, _ = build(llm, turns)
    await run_until_replies(g, speaker, 2)
    # the mark for the cut-off reply (epoch 0's latest): nothing was said, nothing to correct
    llm.apply_playout(PlayoutMark(0.0, "", interrupted=True, epoch=0))
    assert [(m.text, m.interrupted) for m in llm.chat.messages if m.role == "assistant"] == [
        ("First answer.", False),
        ("Third.", False),
    ]
    assert [m.text for m in llm.chat.messages if m.role == "user"] == ["One", "Two", "Three"]


async def test_interrupt_while_waiting_for_tools_drops_the_pending_calls() -> None:
    reply = ScriptedReply(tool_calls=[ScriptedToolCall(name="get_weather")], text="unused")
    llm = LLMNode(engine=ScriptedLLM(replies=[reply, "Fresh answer."]), tools=[get_weather])
    g, speaker, calls = build(
        llm, Turns([(0.0, "Weather?"), (1.0, "Never mind")], interrupts=(0.5,))
    )
    stuck = g.add(NoResults(), name="stuck")  # a stand-in for an executor that never answers
    g.connect(llm.tool_calls, stuck.calls)
    g.connect(stuck.results, llm.tool_results, feedback=True)
    await run_until_replies(g, speaker, 1)
    assert len(calls.got) == 1
    assert speaker.replies() == ["Fresh answer."]
    assert not any(isinstance(i, FunctionCall) for i in llm.chat.items)


async def test_events_are_forwarded_once_even_around_a_feedback_cycle() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=["Hi."]))
    turns = Turns([(0.0, "Hello")], events=((0.5, SpeechStarted(0.5)),))
    g, speaker, _ = build(llm, turns, speaker=Speaker(heard=100))
    await run_until_replies(g, speaker, 1)
    await anyio.sleep(0)
    assert [type(e).__name__ for e in speaker.events].count("SpeechStarted") == 1


class LoopSpeaker(Speaker):
    """Sends every event it gets back to the LLM on ``played`` (a feedback edge), as a node
    sending events on a chosen port may: the events go around the cycle."""

    async def on_event(self, event: Event) -> None:
        self.events.append(event)
        await self.send_event(event, self.played)


class CountingLLM(LLMNode):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.handled: list[str] = []

    async def on_event(self, event: Event) -> None:
        self.handled.append(type(event).__name__)
        await super().on_event(event)


async def test_events_around_a_feedback_cycle_are_handled_once_and_stop() -> None:
    calls = [ScriptedToolCall(name="get_time")]
    reply = ScriptedReply(preamble="Let me check.", tool_calls=calls, text="Noon.")
    llm = CountingLLM(engine=ScriptedLLM(replies=[reply]), tools=[get_time])
    turns = Turns([(0.0, "Time?")], events=((0.5, SpeechStarted(0.5)),))
    executor = ToolExecutor(tools=[get_time])
    g, speaker, _ = build(llm, turns, executor=executor, speaker=LoopSpeaker(heard=100))
    await run_until_replies(g, speaker, 1)
    # the SpeechStarted from upstream and the LLM's own Flush (before the tool call) both came
    # back around llm -> speaker -> llm: each reached the speaker once and the LLM once
    assert llm.handled.count("SpeechStarted") == 1 and llm.handled.count("Flush") == 1
    assert [type(e).__name__ for e in speaker.events].count("SpeechStarted") == 1
    assert [type(e).__name__ for e in speaker.events].count("Flush") == 1
    assert speaker.replies() == ["Let me check. Noon."]


async def test_a_second_run_keeps_only_its_own_timeline_events() -> None:
    """timeline_events are the run's (viz sorts them by the bus seq, which restarts at 1)."""

    class EachRun(Turns):  # the same script every run
        async def setup(self) -> None:
            self.script = [(0.0, "turn", "Hi")]

    llm = LLMNode(engine=ScriptedLLM(replies=["One.", "Two."]))
    g, speaker, _ = build(llm, EachRun([]))
    for run in (1, 2):
        await run_until_replies(g, speaker, run)
        assert [type(e).__name__ for e in llm.timeline_events] == ["LLMGenerated"]
    assert speaker.replies() == ["One.", "Two."]


async def test_empty_turns_are_ignored_and_missing_replies_are_empty() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=[]))
    g, speaker, _ = build(llm, Turns([(0.0, "  "), (1.0, "Hello?")]))
    await run_until_replies(g, speaker, 1)
    assert speaker.replies() == [""]
    assert [m.role for m in llm.chat.messages] == ["system", "user"]


async def test_tools_without_a_results_edge_fail_at_setup() -> None:
    llm = LLMNode(engine=ScriptedLLM(replies=["x"]), tools=[get_weather])
    g, _, _ = build(llm, Turns([(0.0, "Hi")]))
    with pytest.raises(NodeError, match="tool_results input is not connected"):
        await Runner(g, clock=VirtualClock()).run()


def test_config_round_trip_and_chat_option() -> None:
    reply = ScriptedReply(tool_calls=[ScriptedToolCall(name="get_weather", arguments={"c": 1})])
    llm = LLMNode(
        engine=ScriptedLLM(replies=["a", reply], token_delay=0.02),
        tools=[get_weather],
        instructions="Be terse.",
        max_tool_steps=1,
    )
    assert llm.config.tools == [f"{__name__}:get_weather"]
    assert list(llm.tools) == ["get_weather"]
    assert llm.chat.instructions == "Be terse."
    g = Graph()
    g.add(llm)
    assert llm.name == "llm"  # the host's default name
    (data,) = graph_to_dict(g)["nodes"]
    assert data["config"]["instructions"] == "Be terse."
    engine = data["parts"]["engine"]
    assert engine["type"].endswith(":ScriptedLLM")
    assert engine["config"]["token_delay"] == 0.02 and len(engine["config"]["replies"]) == 2
    again = Graph.from_yaml(g.to_yaml(), allow=[__name__])["llm"]  # the tools' module
    assert isinstance(again, LLMNode) and isinstance(again.engine, ScriptedLLM)
    assert again.config == llm.config
    assert again.engine.config == llm.engine.config
    assert list(again.tools) == ["get_weather"]
    # an existing chat context is kept; instructions are only added when it has none
    from voicegraph.nodes.llm import ChatContext

    chat = ChatContext()
    chat.add_message("system", "Mine.")
    assert LLMNode(engine=ScriptedLLM(), chat=chat).chat.instructions == "Mine."
    assert LLMNode(engine=ScriptedLLM(), instructions="").chat.items == []


def test_a_llama_engine_round_trips_through_a_graph_file() -> None:
    g = Graph()
    g.add(LLMNode(engine=LlamaLLM(n_ctx=512, max_tokens=48, tool_strategy="never")))
    (data,) = graph_to_dict(g)["nodes"]
    assert data["parts"]["engine"]["type"].endswith(":LlamaLLM")
    assert data["parts"]["engine"]["config"]["n_ctx"] == 512
    again = Graph.from_yaml(g.to_yaml())["llm"]
    assert isinstance(again, LLMNode) and isinstance(again.engine, LlamaLLM)
    assert again.engine.config == LlamaLLM(n_ctx=512, max_tokens=48, tool_strategy="never").config
    assert "temperature" not in data["config"]  # model settings belong to the engine


class NotAnLLM(Engine):
    """An engine of another stage."""


def test_generate_is_abstract_and_the_host_takes_only_llm_engines() -> None:
    class Bare(LLMEngine):
        pass

    with pytest.raises(NotImplementedError, match="Bare must implement generate"):
        Bare().generate(ChatContext(), [])
    with pytest.raises(ConfigError, match="expected an LLMEngine"):
        LLMNode(engine=NotAnLLM())  # type: ignore[arg-type]
    llm = LLMNode(engine=ScriptedLLM())
    with pytest.raises(ConfigError, match="expected an LLMEngine"):
        llm.check_engine(NotAnLLM())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="expected an LLMEngine"):
        llm.set_engine(NotAnLLM())  # type: ignore[arg-type]
    assert isinstance(llm.engine, ScriptedLLM)  # unchanged
    llm.check_engine(Bare())
    llm.check_engine(None)


class Counted(ScriptedLLM):
    """A scripted engine that records what it is asked and when it starts and closes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[str] = []
        self.chats: list[list[str]] = []

    async def start(self) -> None:
        self.log.append("start")

    async def aclose(self) -> None:
        self.log.append("close")

    async def prewarm(self, chat: ChatContext) -> None:
        self.log.append(f"prewarm {chat.instructions}")

    def generate(self, chat: ChatContext, tools: Any, *, step: int = 0) -> Any:
        self.log.append("generate")
        self.chats.append([m.text for m in chat.messages])
        return super().generate(chat, tools, step=step)


async def test_set_engine_between_replies_keeps_the_conversation() -> None:
    first = Counted(replies=["From A.", "A again."])
    second = Counted(replies=["From B."])
    llm = LLMNode(engine=first, instructions="Sys.")
    g, speaker, _ = build(llm, Turns([(0.0, "One"), (5.0, "Two"), (10.0, "Three")]))
    clock = VirtualClock()
    async with Runner(g, clock=clock, detect_deadlock=False) as runner:
        with anyio.fail_after(10):
            await speaker.wait_finals(1)
            # entered and prewarmed with the system prompt in setup, before the first turn
            assert first.log == ["start", "prewarm Sys.", "generate"]
            llm.set_engine(second)
            assert llm.engine is second and llm.parts() == {"engine": first}
            await speaker.wait_finals(2)
            llm.set_engine(None)  # back to the engine it was built with
            assert llm.engine is first
            await speaker.wait_finals(3)
        runner.stop()
    assert speaker.replies() == ["From A.", "From B.", "A again."]
    assert second.chats == [["Sys.", "One", "From A.", "Two"]]  # the host's conversation
    assert [(m.role, m.text) for m in llm.chat.messages][-2:] == [
        ("user", "Three"),
        ("assistant", "A again."),
    ]
    # each engine entered once (the swapped one on first use), all closed with the host
    assert first.log == ["start", "prewarm Sys.", "generate", "generate", "close"]
    assert second.log == ["start", "generate", "close"]


async def test_an_engine_shared_by_two_hosts_starts_once_and_closes_with_the_last() -> None:
    shared = Counted(replies=["Hi.", "Hi."])
    a, b = LLMNode(engine=shared), LLMNode(engine=shared)
    g = Graph()
    turns = g.add(Turns([(0.0, "Hello")]), name="turns")
    sa, sb = g.add(Speaker(), name="sa"), g.add(Speaker(), name="sb")
    g.add(a, name="a")
    g.add(b, name="b")
    for host, sink in ((a, sa), (b, sb)):
        g.connect(turns.out, host.turn)
        g.connect(host.text, sink.text)
    async with Runner(g, clock=VirtualClock(), detect_deadlock=False) as runner:
        with anyio.fail_after(10):
            await sa.wait_finals(1)
            await sb.wait_finals(1)
        assert shared.log.count("start") == 1 and shared.started
        runner.stop()
    assert shared.log.count("start") == 1 and shared.log.count("close") == 1
    assert shared.log[-1] == "close"
    assert not shared.started
    assert sa.replies() == sb.replies() == ["Hi."]


class OneTurn(Node):
    """Emits one user turn and ends its stream at once."""

    out: Out[UserTurn]

    async def run(self) -> None:
        await self.emit(self.out, UserTurn("Weather in Paris?"))


async def test_input_ending_during_a_tool_round_still_gets_the_reply() -> None:
    """The LLM stays open for tool results due on its feedback edge (awaiting_feedback)."""
    reply = ScriptedReply(
        tool_calls=[ScriptedToolCall(name="get_weather", arguments={"city": "Paris"})],
        text="It is sunny in Paris.",
    )
    llm = LLMNode(engine=ScriptedLLM(replies=[reply]), tools=[get_weather])
    g = Graph()
    source, speaker = g.add(OneTurn()), g.add(Speaker(), name="speaker")
    executor = g.add(ToolExecutor(tools=[get_weather]), name="tools")
    g.add(llm, name="llm")
    g.connect(source.out, llm.turn)
    g.connect(llm.text, speaker.text)
    g.connect(llm.tool_calls, executor.calls)
    g.connect(executor.results, llm.tool_results, feedback=True)
    with anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()  # ends on its own once the input ends
    assert speaker.replies() == ["It is sunny in Paris."]


class StuckOnClose(LLMEngine):
    """Streams words at once for the first request; its cleanup waits on a network that never
    answers (an ``anyio.Event`` nobody sets). Later requests answer at once."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def generate(
        self, chat: ChatContext, tools: Any, *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        self.calls += 1
        if self.calls > 1:
            yield LLMChunk(text="Fresh answer.")
            return
        try:
            for word in STORY.split():
                yield LLMChunk(text=word + " ")
        finally:
            await anyio.Event().wait()  # e.g. telling a server to stop, and it never replies


class SlowSpeaker(Speaker):
    """Takes a second of clock time per text frame, so the LLM waits to emit (out of its
    engine's generator) when the interrupt comes: the host then closes the generator."""

    async def on_text(self, frame: LLMText) -> None:
        if frame.text:
            await self.clock.sleep(1.0)
        await super().on_text(frame)


@pytest.mark.timeout(30, method="thread")  # before the fix: the shielded close hung forever
async def test_an_engine_stuck_closing_its_stream_does_not_block_barge_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    llm = LLMNode(engine=StuckOnClose())
    turns = Turns([(0.0, "Tell me a story"), (3.0, "Never mind")], interrupts=(2.5,))
    g = Graph()
    g.add(turns, name="turns")
    g.add(llm, name="llm")
    speaker = g.add(SlowSpeaker(), name="speaker")
    g.connect(turns.out, llm.turn)
    g.connect(llm.text, speaker.text, capacity=1)
    with caplog.at_level(logging.ERROR, logger="voicegraph.nodes"):
        at = await run_until_replies(g, speaker, 1)
    assert [f.text for _, f in speaker.frames][-2:] == ["Fresh answer.", ""]
    # the close was abandoned after CLOSE_TIMEOUT of the run's clock, so the reply to the
    # second turn came then (not never)
    assert at == pytest.approx(2.5 + CLOSE_TIMEOUT + 1.0 + 0.5)
    cut, fresh = llm.metrics
    assert (cut.cancelled, fresh.cancelled) == (True, False)
    assert any(
        "StuckOnClose" in r.getMessage() and "abandoned" in r.getMessage() for r in caplog.records
    )
