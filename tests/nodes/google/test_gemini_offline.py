"""Gemini engines without a network: keys, missing SDK, conversion, config, client."""

from __future__ import annotations

import importlib.util

import pytest

from voicegraph.graph import (
    ConfigError,
    Graph,
    MissingDependencyError,
    ProviderTimeoutError,
    UsageError,
    graph_to_dict,
)
from voicegraph.nodes.google import GeminiLive, GeminiLLM, to_contents, to_tools
from voicegraph.nodes.google._errors import retry_after, to_provider_error
from voicegraph.nodes.llm import ChatContext, FunctionCall, FunctionCallOutput, LLMNode
from voicegraph.nodes.realtime import RealtimeNode
from voicegraph.nodes.tools import function_tool


@function_tool
def get_weather(city: str) -> str:
    """Get the weather.

    Args:
        city: The city.
    """
    return "sunny"


@function_tool
def get_time() -> str:
    """Get the time."""
    return "noon"


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize("node", [GeminiLLM, GeminiLive])
def test_a_missing_key_fails_at_build_time_naming_the_variable(node: type) -> None:
    with pytest.raises(ConfigError, match="set the GOOGLE_API_KEY environment variable"):
        node()


@pytest.mark.parametrize("variable", ["GOOGLE_API_KEY", "GEMINI_API_KEY"])
def test_the_key_comes_from_either_variable(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "from-env")
    llm = GeminiLLM()
    assert llm._api_key == "from-env"
    assert "from-env" not in llm.config.model_dump_json()  # never serialized with the graph


def test_a_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "google.genai" else real(name, *a),
    )
    with pytest.raises(MissingDependencyError, match=r"pip install 'voicegraph\[google\]'"):
        GeminiLLM(api_key="k")


def test_chat_to_contents() -> None:
    chat = ChatContext()
    chat.add_message("system", "Be brief.")
    chat.add_message("user", "Weather in Paris?")
    chat.add_message("assistant", "Let me check.")
    chat.add(FunctionCall(call_id="c1", name="get_weather", arguments='{"city": "Paris"}'))
    chat.add(FunctionCallOutput(call_id="c1", name="get_weather", output="sunny"))
    chat.add(FunctionCall(call_id="c2", name="get_weather", arguments="{}"))  # no output yet
    chat.add_message("assistant", "", interrupted=True)  # cut off before any word
    chat.add_message("system", "Stay polite.")
    chat.add_message("user", "Thanks")
    chat.add(FunctionCallOutput(call_id="c9", name="x", output="orphan", is_error=True))
    contents, system = to_contents(chat, {"c1": b"sig"})
    assert system == "Be brief.\n\nStay polite."
    shape = [(c.role, [p.model_dump(exclude_none=True) for p in c.parts]) for c in contents]
    assert shape == [
        ("user", [{"text": "Weather in Paris?"}]),
        (
            "model",
            [
                {"text": "Let me check."},
                {"function_call": {"name": "get_weather", "args": {"city": "Paris"}},
                 "thought_signature": b"sig"},
            ],
        ),
        (
            "user",
            [
                {"function_response": {"name": "get_weather", "response": {"output": "sunny"}}},
                {"text": "Thanks"},
            ],
        ),
    ]  # fmt: skip
    contents, _ = to_contents(chat, with_ids=True)
    assert contents[1].parts[1].function_call.id == "c1"
    assert contents[2].parts[0].function_response.id == "c1"


def test_an_error_output_is_sent_as_error() -> None:
    chat = ChatContext()
    chat.add_message("user", "Hi")
    chat.add(FunctionCall(call_id="c1", name="f", arguments="not json"))
    chat.add(FunctionCallOutput(call_id="c1", name="f", output="boom", is_error=True))
    contents, _ = to_contents(chat)
    assert contents[1].parts[0].function_call.args == {}
    assert contents[2].parts[0].function_response.response == {"error": "boom"}


def test_tools_to_declarations() -> None:
    assert to_tools([]) == []
    [tool] = to_tools([get_weather, get_time])
    weather, clock = tool.function_declarations
    assert weather.name == "get_weather" and weather.description == "Get the weather."
    assert weather.parameters_json_schema["required"] == ["city"]
    assert clock.parameters_json_schema is None


def test_request_config() -> None:
    llm = GeminiLLM(api_key="k", temperature=0.3, max_tokens=64, thinking_budget=0)
    chat = ChatContext()
    chat.add_message("system", "Be brief.")
    chat.add_message("user", "Hi")
    _contents, config = llm.request_config(chat, [get_weather])
    assert config.system_instruction == "Be brief."
    assert (config.temperature, config.max_output_tokens) == (0.3, 64)
    assert config.thinking_config.thinking_budget == 0
    assert config.automatic_function_calling.disable
    assert config.tools[0].function_declarations[0].name == "get_weather"


def test_retry_after_header() -> None:
    assert retry_after({"retry-after": "7"}) == 7.0
    assert retry_after({"retry-after-ms": "1500"}) == 1.5
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after(None) is None


def test_timeouts_map_to_provider_timeout() -> None:
    error = to_provider_error(TimeoutError(), timeout=1.5)
    assert isinstance(error, ProviderTimeoutError)
    assert str(error) == "gemini: no answer after 1.5 s (timed out)"


def test_live_setup_config() -> None:
    live = GeminiLive(api_key="k", voice="Kore", temperature=0.5)
    config = live.connect_config("Be brief.", [get_weather])
    assert [m.value for m in config.response_modalities] == ["AUDIO"]
    assert config.speech_config.voice_config.prebuilt_voice_config.voice_name == "Kore"
    assert config.tools[0].function_declarations[0].name == "get_weather"
    assert config.system_instruction == "Be brief." and config.temperature == 0.5
    assert config.session_resumption.handle is None
    assert live.connect_config("", [], handle="h-7").session_resumption.handle == "h-7"
    assert live.connect_config("", []).tools is None
    assert (live.input_rate, live.output_rate) == (16000, 24000)
    node = RealtimeNode(engine=live, tools=[get_weather])
    assert node.audio.sample_rate == 16000 and node.speech.sample_rate == 24000


async def test_live_connect_needs_the_engine_entered() -> None:
    live = GeminiLive(api_key="k", base_url="http://127.0.0.1:9")
    with pytest.raises(UsageError, match="enter the engine"):
        await live.connect("", [])


def test_live_serializes_in_a_realtime_node_without_its_key() -> None:
    g = Graph()
    g.add(RealtimeNode(engine=GeminiLive(api_key="secret-key", voice="Kore"), end_wait=2.0))
    text = g.to_yaml()
    assert "secret-key" not in text and "Kore" in text
    node = graph_to_dict(g)["nodes"][0]
    assert node["type"].endswith(":RealtimeNode") and node["config"]["end_wait"] == 2.0
    assert node["parts"]["engine"]["type"].endswith(":GeminiLive")
    assert node["parts"]["engine"]["config"]["voice"] == "Kore"


async def test_the_engine_makes_its_client_on_start_and_closes_it() -> None:
    llm = GeminiLLM(api_key="k", base_url="http://127.0.0.1:9")
    assert not llm._sdk.is_open  # building sends nothing and opens nothing
    async with llm:
        assert llm._sdk.is_open
        http = llm._sdk._http
        assert not http.is_closed
    assert not llm._sdk.is_open and http.is_closed
    async with llm:  # entered again: a new client
        assert llm._sdk.is_open


def test_the_engine_serializes_in_an_llm_node_without_its_key() -> None:
    g = Graph()
    g.add(LLMNode(engine=GeminiLLM(api_key="secret-key", model="gemini-x"), tools=[get_weather]))
    text = g.to_yaml()
    assert "secret-key" not in text and "gemini-x" in text
    node = graph_to_dict(g)["nodes"][0]
    assert node["parts"]["engine"]["type"].endswith(":GeminiLLM")
    assert node["parts"]["engine"]["config"]["model"] == "gemini-x"
