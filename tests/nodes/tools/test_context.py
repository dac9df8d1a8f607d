"""Tool context parameters, invoke() and StopResponse (used by the agent layer)."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

import anyio
import pytest

from voicegraph.graph import ConfigError, ToolCall, VoicegraphError
from voicegraph.nodes.tools import (
    SilentToolResult,
    StopResponse,
    ToolError,
    function_tool,
    is_tool_context,
    output_text,
)

T = TypeVar("T")


class Ctx(Generic[T]):
    __tool_context__: ClassVar[bool] = True

    def __init__(self, data: T) -> None:
        self.data = data


@function_tool
async def greet(ctx: Ctx[str], name: str) -> dict[str, str]:
    """Greet someone.

    Args:
        name: Who.
    """
    return {"greeting": f"{ctx.data} {name}"}


@function_tool
def stop() -> str:
    """Stop the reply."""
    raise StopResponse()


def test_context_parameters_are_not_in_the_schema() -> None:
    assert greet.context_params == ["ctx"]
    assert set(greet.parameters["properties"]) == {"name"}
    assert is_tool_context(Ctx[int]) and is_tool_context(Ctx) and not is_tool_context(int)


def test_invoke_returns_the_raw_value_and_call_the_text() -> None:
    async def main() -> None:
        value = await greet.invoke('{"name": "Ann"}', context=Ctx("Hello"))
        assert value == {"greeting": "Hello Ann"}
        text = await greet.call('{"name": "Ann"}', context=Ctx("Hi"))
        assert text == '{"greeting": "Hi Ann"}' == output_text({"greeting": "Hi Ann"})
        with pytest.raises(ToolError, match="takes a context"):
            await greet.invoke('{"name": "Ann"}')

    anyio.run(main)


def test_stop_response_gives_a_silent_result() -> None:
    async def main() -> None:
        result = await stop.execute(ToolCall("c1", "stop"))
        assert isinstance(result, SilentToolResult) and result.output == ""
        assert not result.is_error

    anyio.run(main)


def test_positional_only_context_is_refused() -> None:
    def bad(ctx: Ctx[int], /) -> None:
        """Bad."""

    with pytest.raises(ConfigError, match="positional-only"):
        function_tool(bad)


def test_stop_response_is_control_flow_not_an_error() -> None:
    """``StopResponse`` ends a reply; handlers of voicegraph errors must not catch it."""
    assert issubclass(StopResponse, Exception) and not issubclass(StopResponse, VoicegraphError)
    with pytest.raises(StopResponse):
        try:
            raise StopResponse()
        except VoicegraphError:  # what the CLI and worker report as a one-line error
            pytest.fail("StopResponse was handled as a VoicegraphError")
