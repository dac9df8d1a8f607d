""":class:`AgentToolExecutor`: runs the active agent's tools with a RunContext, handoffs, tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from voicegraph.graph import NodeConfig, ToolCall, ToolResult, UsageError, deadline
from voicegraph.nodes.tools import (
    FunctionTool,
    SilentToolResult,
    StopResponse,
    ToolExecutor,
    ToolTimeoutError,
    error_result,
    output_text,
)

from ._agent import AgentHandoff, AgentTask
from ._context import RunContext, session_scope
from ._mock import mocked
from ._speech import SpeechHandle

if TYPE_CHECKING:
    from ._ports import ToolPort
    from ._session import AgentSession

__all__ = ["AgentToolExecutor"]


class AgentToolExecutor(ToolExecutor):
    """The tool executor of an :class:`AgentSession`.

    Like :class:`~voicegraph.nodes.tools.ToolExecutor` (concurrent calls, errors and
    timeouts become error results for the LLM), and besides:

    * the tools are the ones the LLM currently offers (the active agent's), looked up when
      each call arrives;
    * a parameter annotated :class:`RunContext` receives the call's context;
    * a tool that returns an ``Agent``, an :class:`AgentHandoff` or ``(agent, output)`` hands
      the session over to that agent once the current reply has finished; its result is
      silent (the old agent does not reply to it);
    * a tool that raises ``StopResponse``, or that completed the running ``AgentTask``,
      gives a silent result;
    * the timeout (the tool's own, else ``timeout``, default 10 s) does not count the time a
      tool spends awaiting an ``AgentTask``;
    * results are emitted as soon as each call finishes (a call awaiting an ``AgentTask``
      must not hold back the task's own tool calls);
    * a call of a reply generated ahead of the end of the user's turn (preemptive
      generation) waits until the turn is confirmed;
    * an interrupt cancels the calls of the interrupted reply, not those of a reply set
      aside while an ``AgentTask`` runs.

    Create it without a session (``AgentToolExecutor()``): the session attaches itself
    when it starts (:meth:`attach`), also in a graph you build for
    ``AgentSession.start(agent, graph=...)``.
    """

    restart_on_interrupt = False

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._port: ToolPort | None = None
        self._session: AgentSession[Any] | None = None
        self._calls: dict[str, tuple[anyio.CancelScope, SpeechHandle | None]] = {}

    def attach(self, session: AgentSession[Any], port: ToolPort) -> None:
        """Run the tools of ``session``'s active agent (the session calls this)."""
        self._session, self._port = session, port

    def _bound(self) -> tuple[AgentSession[Any], ToolPort]:
        if self._session is None or self._port is None:
            raise UsageError(
                f"AgentToolExecutor {self.name!r} is not part of a session; run its graph with "
                "AgentSession.start(agent, graph=...)"
            )
        return self._session, self._port

    def default_name(self) -> str:
        """``"tools"``."""
        return "tools"

    async def execute(self, call: ToolCall) -> ToolResult:
        """Run one call for the active agent; every failure becomes an error result."""
        session, port = self._bound()
        tools = port.offered_tools()
        tool = tools.get(call.name)
        if tool is None:
            available = ", ".join(tools) or "none"
            message = f"unknown tool {call.name!r}; available tools: {available}"
            return ToolResult(call.call_id, call.name, message, is_error=True)
        speech = port.tool_speech()
        if speech is not None:
            await speech.authorized()
        context = port.run_context(speech, call)
        agent = context.agent
        tool = mocked(agent, tool, session)
        try:
            with session_scope(session, context):
                value = await self._invoke(tool, call, context)
            handoff = AgentHandoff.from_tool_output(value)
            shown = handoff.output if handoff is not None else value
            output = output_text(shown, tool=tool.name)  # may raise: str() is the tool's code
        except StopResponse:
            return SilentToolResult(call.call_id, call.name, "")
        except Exception as exc:
            return error_result(call, exc, tool.name)
        if handoff is not None:
            port.request_handoff(handoff, speech)
            return SilentToolResult(call.call_id, call.name, output)
        if isinstance(agent, AgentTask) and agent.done():
            return SilentToolResult(call.call_id, call.name, output)
        return ToolResult(call.call_id, call.name, output)

    async def _invoke(self, tool: FunctionTool, call: ToolCall, context: RunContext[Any]) -> Any:
        """Run the tool with its timeout on the run's clock, paused while it awaits AgentTasks."""
        limit = tool.timeout or self.config.timeout

        def timed_out() -> ToolTimeoutError:
            return ToolTimeoutError(f"tool {tool.name!r} timed out after {limit:g} s")

        async with deadline(self.clock, limit, error=timed_out) as countdown:
            context.limit_time(countdown)
            return await tool.invoke(call.arguments, clock=self.clock, context=context)

    async def run(self) -> None:
        """Start each call as it arrives; emit each result as soon as it is ready."""
        limiter = anyio.Semaphore(self.config.max_in_flight)
        async with anyio.create_task_group() as tg:
            async for _port, frame in self.frames():
                if not isinstance(frame, ToolCall):  # pragma: no cover - typed port
                    continue
                await limiter.acquire()
                tg.start_soon(self._call, frame, limiter)

    async def _call(self, call: ToolCall, limiter: anyio.Semaphore) -> None:
        speech = self._bound()[1].tool_speech()
        try:
            with anyio.CancelScope() as scope:
                self._calls[call.call_id] = (scope, speech)
                result = await self.execute(call)
                if speech is not None:  # speech the tool scheduled plays first
                    await self._bound()[1].tool_finished(speech)
                await self.emit(self.results, result)
        finally:
            self._calls.pop(call.call_id, None)
            limiter.release()

    async def on_interrupt(self, event: Any) -> None:
        """Cancel the calls in flight, except those of replies set aside by a task."""
        port = self._bound()[1]
        for scope, speech in list(self._calls.values()):
            if speech is None or not port.is_suspended(speech):
                scope.cancel()
