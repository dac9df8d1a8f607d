"""function_tool: schema from type hints and docstrings, argument validation, timeouts, loading."""

from __future__ import annotations

import json
import threading
import time
from typing import Annotated, Literal

import anyio
import pytest
from pydantic import BaseModel, Field

from voicegraph.graph import ConfigError, ToolCall
from voicegraph.nodes.tools import (
    FunctionTool,
    ToolArgumentsError,
    ToolError,
    ToolTimeoutError,
    function_tool,
    load_tool,
    load_tools,
    parse_docstring,
    resolve_tools,
    tool_path,
)
from voicegraph.runner import VirtualClock


@function_tool
def get_weather(city: str, unit: Literal["C", "F"] = "C", days: int = 1) -> str:
    """Look up the current weather for a city.

    Use it for questions about weather, rain or temperature.

    Args:
        city: The city name,
            for example "Paris".
        unit (str): Temperature unit.

    Returns:
        A short description.
    """
    return f"Sunny, 22 {unit} in {city} for {days} day(s)"


@function_tool(name="lookup_time", timeout=0.5)
async def current_time(
    timezone: Annotated[str, Field(description="An IANA zone.")],
) -> dict[str, str]:
    """Tell the time."""
    await anyio.sleep(0)
    return {"timezone": timezone, "time": "12:00"}


def plain_add(a: int, b: int = 2) -> int:
    """Add two numbers.

    Args:
        a: first.
        b: second.
    """
    return a + b


class Point(BaseModel):
    x: float
    y: float


def test_docstring_parsing() -> None:
    doc = parse_docstring(get_weather.fn.__doc__)
    assert doc.description == (
        "Look up the current weather for a city.\n\n"
        "Use it for questions about weather, rain or temperature."
    )
    assert doc.args == {"city": 'The city name, for example "Paris".', "unit": "Temperature unit."}
    assert parse_docstring(None).description == ""


def test_schema_from_hints_and_docstring_sync() -> None:
    assert isinstance(get_weather, FunctionTool)
    assert get_weather.name == "get_weather"
    assert not get_weather.is_async
    assert get_weather.description.startswith("Look up the current weather")
    assert get_weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'The city name, for example "Paris".'},
            "unit": {
                "enum": ["C", "F"],
                "type": "string",
                "default": "C",
                "description": "Temperature unit.",
            },
            "days": {"type": "integer", "default": 1},
        },
        "required": ["city"],
    }
    spec = get_weather.to_openai()
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "get_weather"
    # still callable as a plain function
    assert get_weather("Oslo") == "Sunny, 22 C in Oslo for 1 day(s)"


def test_schema_async_with_annotated_description_and_custom_name() -> None:
    assert current_time.is_async
    assert current_time.name == "lookup_time"
    assert current_time.timeout == 0.5
    assert current_time.description == "Tell the time."
    assert current_time.parameters["properties"] == {
        "timezone": {"type": "string", "description": "An IANA zone."}
    }


def test_nested_models_in_schema_are_validated() -> None:
    @function_tool
    def distance(a: Point, b: Point) -> float:
        """Distance between points."""
        return float(((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5)

    assert "$defs" in distance.parameters
    kwargs = distance.validate_arguments('{"a": {"x": 0, "y": 0}, "b": {"x": 3, "y": 4}}')
    assert isinstance(kwargs["a"], Point)


async def test_call_sync_and_async() -> None:
    assert await get_weather.call('{"city": "Paris"}') == "Sunny, 22 C in Paris for 1 day(s)"
    assert await get_weather.call('{"city": "Paris", "days": "3"}') == (
        "Sunny, 22 C in Paris for 3 day(s)"
    )
    out = await current_time.call('{"timezone": "Europe/Paris"}')
    assert json.loads(out) == {"timezone": "Europe/Paris", "time": "12:00"}
    # stray keys from a small model are tolerated
    assert await get_weather.call('{"city": "Rome", "mood": "happy"}') == (
        "Sunny, 22 C in Rome for 1 day(s)"
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("{city: Paris}", "not valid JSON"),
        ('{"city": "Paris"', "not valid JSON"),
        ('["Paris"]', "must be a JSON object"),
        ("{}", "city: Field required"),
        ('{"city": "Paris", "unit": "K"}', "unit: Input should be 'C' or 'F'"),
        ('{"city": "Paris", "days": "many"}', "days: Input should be a valid integer"),
    ],
)
async def test_malformed_arguments_raise_clear_errors(arguments: str, expected: str) -> None:
    with pytest.raises(ToolArgumentsError, match="tool 'get_weather'") as info:
        await get_weather.call(arguments)
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)
    result = await get_weather.execute(ToolCall("c1", "get_weather", arguments))
    assert result.is_error and expected in result.output and result.call_id == "c1"


async def test_empty_arguments_mean_no_arguments() -> None:
    @function_tool
    def ping() -> str:
        """Ping."""
        return "pong"

    assert await ping.call("") == "pong"
    assert ping.parameters == {"type": "object", "properties": {}}


async def test_async_tool_timeout_real_time() -> None:
    @function_tool(timeout=0.05)
    async def slow() -> str:
        """Never finishes in time."""
        await anyio.sleep(5)
        return "late"

    t0 = time.perf_counter()
    with pytest.raises(ToolTimeoutError, match=r"tool 'slow' timed out after 0\.05 s"):
        await slow.call()
    assert time.perf_counter() - t0 < 2


async def test_sync_tool_timeout_abandons_the_thread() -> None:
    release = threading.Event()

    @function_tool
    def stuck() -> str:
        """Blocks until released."""
        release.wait(5)
        return "late"

    try:
        with pytest.raises(ToolTimeoutError, match="timed out after 0.1 s"):
            await stuck.call(timeout=0.1)
    finally:
        release.set()


async def test_timeout_on_virtual_clock() -> None:
    clock = VirtualClock()

    @function_tool
    async def waits(seconds: float) -> str:
        """Waits on the virtual clock."""
        await clock.sleep(seconds)
        return "ok"

    async with clock.running():
        assert await waits.call('{"seconds": 1}', clock=clock, timeout=2) == "ok"
        with pytest.raises(ToolTimeoutError):
            await waits.call('{"seconds": 30}', clock=clock)  # default 10 s
        assert clock.now() == pytest.approx(11.0)
        # sync tools run through clock.run_sync: zero virtual time
        assert await get_weather.call('{"city": "Nice"}', clock=clock) == (
            "Sunny, 22 C in Nice for 1 day(s)"
        )
        assert clock.now() == pytest.approx(11.0)


async def test_tool_that_raises_becomes_an_error_result() -> None:
    @function_tool
    def broken(x: int) -> str:
        """Always fails."""
        raise RuntimeError(f"database down ({x})")

    @function_tool
    async def refuses() -> str:
        """Reports a problem for the LLM."""
        raise ToolError("the user has no account")

    with pytest.raises(RuntimeError, match="database down"):
        await broken.call('{"x": 1}')
    result = await broken.execute(ToolCall("c1", "broken", '{"x": 1}'))
    assert result.is_error
    assert result.output == "tool 'broken' failed: RuntimeError: database down (1)"
    result = await refuses.execute(ToolCall("c2", "refuses"))
    assert (result.is_error, result.output) == (True, "the user has no account")


async def test_output_conversion() -> None:
    @function_tool
    def many() -> list[dict[str, object]]:
        """Many values."""
        return [{"a": 1, "b": None}]

    @function_tool
    def nothing() -> None:
        """Nothing."""

    @function_tool
    def model() -> Point:
        """A pydantic model."""
        return Point(x=1, y=2)

    assert await many.call() == '[{"a": 1, "b": null}]'
    assert await nothing.call() == ""
    assert json.loads(await model.call()) == {"x": 1.0, "y": 2.0}


def test_invalid_definitions() -> None:
    with pytest.raises(ConfigError, match="cannot be described by a JSON schema"):

        @function_tool
        def star(*args: int) -> None:
            """Varargs."""

    with pytest.raises(ConfigError, match="invalid tool name"):
        function_tool(name="has space")(plain_add)
    with pytest.raises(ConfigError, match="timeout must be positive"):
        function_tool(timeout=0)(plain_add)
    with pytest.raises(TypeError, match="needs a function"):
        FunctionTool(42)  # type: ignore[arg-type]


def test_load_tool_and_paths() -> None:
    module = __name__
    tool = load_tool(f"{module}:get_weather")
    assert tool is get_weather
    wrapped = load_tool(f"{module}:plain_add")
    assert wrapped.name == "plain_add" and wrapped.parameters["required"] == ["a"]
    assert tool_path(get_weather) == f"{module}:get_weather"
    assert tool_path(current_time) == f"{module}:current_time"
    assert tool_path(plain_add) == f"{module}:plain_add"
    assert tool_path(function_tool(plain_add)) == f"{module}:plain_add"
    assert tool_path(function_tool(name="other")(plain_add)) is None  # differs from the module
    assert tool_path(lambda: None) is None

    def local() -> None:
        """Local."""

    assert tool_path(local) is None
    paths, extra = resolve_tools([get_weather, "x.y:z", plain_add, local])
    assert paths == [f"{module}:get_weather", "x.y:z", f"{module}:plain_add"]
    assert [t.name for t in extra] == ["local"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no_colon", "expected an import path 'package.module:function'"),
        ("voicegraph_nope.mod:f", "cannot import module 'voicegraph_nope.mod'"),
        ("json:nope", "module 'json' has no attribute 'nope'"),
        ("json.decoder:NaN", "not a function"),
    ],
)
def test_load_tool_errors(path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_tool(path)


def test_duplicate_tool_names() -> None:
    with pytest.raises(ConfigError, match="two tools are named 'get_weather'"):
        load_tools([f"{__name__}:get_weather"], [function_tool(name="get_weather")(plain_add)])
