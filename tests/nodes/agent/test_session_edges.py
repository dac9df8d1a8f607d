"""Edge cases of the session's lifecycle, scheduling and tasks (each one a regression test)."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import anyio
import pytest

from voicegraph.graph import NodeError
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.runner import VirtualClock


class Broken(ScriptedLLM):
    async def generate(self, chat: Any, tools: Any, *, step: int = 0) -> Any:
        raise RuntimeError("model crashed")
        yield  # pragma: no cover


async def test_async_error_and_close_callbacks_run_when_the_session_fails() -> None:
    seen: list[str] = []
    session = AgentSession(llm=Broken(), clock=VirtualClock())

    @session.on("error")
    async def on_error(event: Any) -> None:
        await anyio.sleep(0)
        seen.append(f"error:{type(event.error).__name__}")

    @session.on("close")
    async def on_close(event: Any) -> None:
        await anyio.sleep(0)
        seen.append(f"close:{event.reason}")

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "coroutine was never awaited"
        async with session:
            await session.start(Agent(instructions="x"))
            with pytest.raises(NodeError, match="model crashed"):
                await session.run(user_input="hi")
        gc.collect()
    assert seen == ["error:NodeError", "close:error"]
    with pytest.raises(NodeError, match="model crashed"):
        await session.wait()
