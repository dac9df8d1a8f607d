"""GeminiLLM (an LLMNode's engine) on the wire: the real google-genai SDK against a loopback
Gemini (REST + SSE)."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import anyio
import pytest
from fake_gemini import FakeGemini, answer, call_chunk, error, text_chunk
from loopback import Reply
from wiring import CallSink, TextSink, TurnFeed, run

from voicegraph.graph import (
    Graph,
    NodeError,
    ProviderError,
    ProviderTimeoutError,
    UserTurn,
)
from voicegraph.nodes.google import GeminiLLM
from voicegraph.nodes.llm import FunctionCall, LLMNode
from voicegraph.nodes.tools import ToolExecutor, ToolLike, function_tool


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny, 22 C in {city}"


def gemini_llm(fake: FakeGemini, **settings: object) -> GeminiLLM:
    """A GeminiLLM engine talking to ``fake``."""
    settings.setdefault("timeout", 2.0)
    return GeminiLLM(api_key="test-key", base_url=fake.base_url, api_version="v1beta", **settings)


def gemini_node(
    fake: FakeGemini,
    *,
    tools: Sequence[ToolLike] | None = None,
    instructions: str | None = None,
    **settings: object,
) -> LLMNode:
    """An LLMNode on a GeminiLLM engine talking to ``fake``."""
    host = {} if instructions is None else {"instructions": instructions}
    return LLMNode(engine=gemini_llm(fake, **settings), tools=tools, **host)


def build(
    llm: LLMNode, script: list[tuple[float, object]], *, tools: bool = False
) -> tuple[Graph, TextSink]:
    g = Graph()
    feed = g.add(TurnFeed(script, linger=0.3), name="turns")
    g.add(llm, name="llm")
    sink = g.add(TextSink(), name="text")
    calls = g.add(CallSink(), name="calls")
    g.connect(feed.out, llm.turn)
    g.connect(llm.text, sink.inp)
    g.connect(llm.tool_calls, calls.inp)
    if tools:
        executor = g.add(ToolExecutor(tools=[get_weather]), name="tools")
        g.connect(llm.tool_calls, executor.calls)
        g.connect(executor.results, llm.tool_results, feedback=True)
    return g, sink


def provider_error(exc: BaseException) -> ProviderError:
    assert isinstance(exc, NodeError), exc
    assert isinstance(exc.error, ProviderError), exc.error
    return exc.error


async def test_streams_a_reply_with_usage(gemini: FakeGemini) -> None:
    llm = gemini_node(gemini, instructions="Be brief.", temperature=0.2)
    g, sink = build(llm, [(0, UserTurn("What is the capital of France?"))])
    await run(g)
    assert sink.text() == "The capital of France is Paris."
    assert len(sink.got) == 7 and sink.finals() == 1  # six word deltas, then the final marker
    assert llm.chat.last_assistant is not None
    assert llm.chat.last_assistant.text == "The capital of France is Paris."
    metrics = llm.metrics[-1]
    assert (metrics.prompt_tokens, metrics.completion_tokens) == (12, 9)
    assert metrics.ttft is not None and not metrics.cancelled
    request = gemini.requests[0]
    assert request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert request.query["alt"] == ["sse"]
    assert request.headers["x-goog-api-key"] == "test-key"
    body = request.json()
    assert body["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "What is the capital of France?"}]}
    ]
    assert body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 256}


async def test_tool_call_round_trip(gemini: FakeGemini) -> None:
    gemini.plan.push(
        Reply(chunks=[call_chunk("get_weather", {"city": "Paris"}, signature=b"sig-1")]),
        answer("It is sunny in Paris."),
    )
    llm = gemini_node(gemini, tools=[get_weather])
    g, sink = build(llm, [(0, UserTurn("Weather in Paris?"))], tools=True)
    await run(g)
    assert sink.text() == "It is sunny in Paris."
    first, second = (r.json() for r in gemini.requests)
    declaration = first["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "get_weather"
    assert declaration["description"] == "Get the current weather for a city."
    schema = declaration.get("parametersJsonSchema") or declaration["parameters_json_schema"]
    assert schema["properties"]["city"]["type"] == "string"
    model_turn, tool_turn = second["contents"][1:]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0]["functionCall"] == {
        "name": "get_weather",
        "args": {"city": "Paris"},
    }
    assert base64.b64decode(model_turn["parts"][0]["thoughtSignature"]) == b"sig-1"
    assert tool_turn["role"] == "user"
    assert tool_turn["parts"][0]["functionResponse"] == {
        "name": "get_weather",
        "response": {"output": "Sunny, 22 C in Paris"},
    }
    calls = [i for i in llm.chat.items if isinstance(i, FunctionCall)]
    assert calls[0].name == "get_weather" and calls[0].arguments == '{"city": "Paris"}'


@pytest.mark.parametrize(
    ("reply", "status", "words"),
    [
        (error(401, "API key not valid.", "UNAUTHENTICATED"), 401, "GOOGLE_API_KEY"),
        (
            error(429, "Resource exhausted.", "RESOURCE_EXHAUSTED", headers={"Retry-After": "7"}),
            429,
            "retry after 7 s",
        ),
        (error(500, "Internal error.", "INTERNAL"), 500, "server error"),
        (Reply(status=503, body=b"<html>unavailable</html>"), 503, "unavailable"),
        (Reply(chunks=[b"data: {not json\r\n\r\n"]), None, "malformed"),
        (Reply(chunks=[{"unexpected": True}]), None, "malformed"),
    ],
    ids=["401", "429", "500", "503-html", "malformed-json", "malformed-shape"],
)
async def test_errors_name_provider_and_status(
    gemini: FakeGemini, reply: Reply, status: int | None, words: str
) -> None:
    gemini.plan.push(reply)
    g, _ = build(gemini_node(gemini), [(0, UserTurn("Hi"))])
    with pytest.raises(NodeError) as info:
        await run(g)
    error_ = provider_error(info.value)
    assert error_.provider == "gemini" and error_.status == status
    assert words in str(error_)
    if status == 429:
        assert getattr(error_, "retry_after", None) == 7.0


async def test_slow_first_byte_times_out(gemini: FakeGemini) -> None:
    gemini.plan.push(answer("Too late.", first_delay=2.0))
    g, _ = build(gemini_node(gemini, timeout=0.3), [(0, UserTurn("Hi"))])
    with pytest.raises(NodeError) as info:
        await run(g)
    assert isinstance(info.value.error, ProviderTimeoutError)
    assert str(info.value.error) == "gemini: no answer after 0.3 s (timed out)"


async def test_disconnect_mid_stream_keeps_the_text_said(gemini: FakeGemini) -> None:
    gemini.plan.push(answer("The capital of France is Paris.", cut_after=3))
    llm = gemini_node(gemini)
    g, sink = build(llm, [(0, UserTurn("Capital?"))])
    with pytest.raises(NodeError) as info:
        await run(g)
    assert "mid-stream" in str(provider_error(info.value))
    assert sink.text() == "The capital of"  # what was streamed before the cut went out
    assert llm.chat.last_assistant is not None
    assert llm.chat.last_assistant.text == "The capital of"
    assert llm.chat.last_assistant.interrupted


async def test_interrupt_closes_the_http_stream(gemini: FakeGemini) -> None:
    words = " ".join(f"word{i}" for i in range(30))
    gemini.plan.push(answer(words, delay=0.05))
    llm = gemini_node(gemini)
    g, sink = build(llm, [(0, UserTurn("Talk")), (0.3, "interrupt")])
    await run(g)
    request = gemini.requests[0]
    with anyio.fail_after(2):
        await request.client_closed.wait()  # the server saw the client hang up
    assert 0 < request.sent_chunks < 30
    assert llm.metrics[-1].cancelled
    assert sink.finals() == 0


async def test_safety_block_is_a_clear_error(gemini: FakeGemini) -> None:
    gemini.plan.push(Reply(chunks=[text_chunk("", finish="SAFETY")]))
    g, _ = build(gemini_node(gemini), [(0, UserTurn("Hi"))])
    with pytest.raises(NodeError) as info:
        await run(g)
    assert "blocked (SAFETY)" in str(provider_error(info.value))
