"""The :class:`ToolExecutor` node: runs the tool calls an LLM requests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
from pydantic import Field

from voicegraph.graph import In, Node, NodeConfig, Out, ToolCall, ToolResult

from ._loading import ToolLike, load_tools, resolve_tools
from ._tool import DEFAULT_TOOL_TIMEOUT, FunctionTool

__all__ = ["ToolExecutor"]


class ToolExecutor(Node):
    """Run :class:`ToolCall` frames and emit a :class:`ToolResult` for each, in call order.

    Calls run concurrently (``parallel=True``, at most ``max_in_flight`` at a time) and their
    results are emitted in the order the calls arrived, so an LLM waiting for a batch sees
    them in its own order. A failing tool never fails the run: a tool that raises, times out,
    gets malformed arguments or does not exist produces ``ToolResult(is_error=True)`` with a
    clear message for the LLM (an unknown name lists the available tools).

    Connect ``results`` back to the LLM's ``tool_results`` input with ``feedback=True``.
    An interrupt cancels the calls in flight (async tools are cancelled; a sync tool's thread
    is abandoned and its result discarded) and no result of the old turn is emitted.

    ``tools`` accepts import paths (``"pkg.module:function"``), :class:`FunctionTool` objects
    and plain functions. Module-level functions and tools of importable modules are stored in
    the config as import paths, so the graph serializes; any other tool (a lambda, a closure,
    a function defined in ``__main__``, a tool created with settings that differ from its
    module attribute) is kept on the node only and is **not** part of the serialized config.

    Config:
        tools: import paths of the tools (default none).
        timeout: seconds per call for tools that set no timeout of their own (default 10).
        parallel: run the calls of a batch concurrently (default ``True``).
        max_in_flight: most calls running at once (default 16).

    Raises:
        ConfigError: a tool path cannot be loaded or two tools share a name.
    """

    class Config(NodeConfig):
        tools: list[str] = []
        timeout: float = Field(DEFAULT_TOOL_TIMEOUT, gt=0)
        parallel: bool = True
        max_in_flight: int = Field(16, ge=1)

    forward_events = False  # results go back to the LLM: events must not circle back with them

    config: Config
    calls: In[ToolCall]
    results: Out[ToolResult]

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        tools: Sequence[ToolLike] | None = None,
        **settings: Any,
    ) -> None:
        extra: list[FunctionTool] = []
        if tools is not None:
            paths, extra = resolve_tools(tools)
            settings["tools"] = paths
        super().__init__(config, **settings)
        self._tools = load_tools(self.config.tools, extra)

    @property
    def tools(self) -> dict[str, FunctionTool]:
        """The tools by name (a copy)."""
        return dict(self._tools)

    async def execute(self, call: ToolCall) -> ToolResult:
        """Run one call and return its result; every failure becomes an error result."""
        tool = self._tools.get(call.name)
        if tool is None:
            available = ", ".join(self._tools) or "none"
            return ToolResult(
                call.call_id,
                call.name,
                f"unknown tool {call.name!r}; available tools: {available}",
                is_error=True,
            )
        return await tool.execute(call, clock=self.clock, timeout=self.config.timeout)

    async def run(self) -> None:
        """Start each call as it arrives; emit results in arrival order."""
        limiter = anyio.Semaphore(self.config.max_in_flight)
        previous: anyio.Event | None = None
        async with anyio.create_task_group() as tg:
            async for _port, frame in self.frames():
                if not isinstance(frame, ToolCall):  # pragma: no cover - typed port
                    continue
                await limiter.acquire()
                done = anyio.Event()
                tg.start_soon(self._run_call, frame, previous, done, limiter)
                previous = done
                if not self.config.parallel:
                    await done.wait()

    async def _run_call(
        self,
        call: ToolCall,
        previous: anyio.Event | None,
        done: anyio.Event,
        limiter: anyio.Semaphore,
    ) -> None:
        try:
            result = await self.execute(call)
            if previous is not None:
                await previous.wait()
            await self.emit(self.results, result)
        finally:
            done.set()
            limiter.release()
