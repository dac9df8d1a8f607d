"""Whatever a tool does, the executor sends one result per call and carries on.

A tool that raises ``CancelledError`` on its own, raises an exception whose ``str()`` raises,
or returns a value whose ``str()`` raises gives an error result naming the tool. A real
cancellation of the call (an interrupt, a timeout, a cancelled scope, ``Task.cancel()``) still
cancels it, and ``KeyboardInterrupt`` / ``SystemExit`` still propagate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from voicegraph.graph import Graph, In, Node, Out, ToolCall, ToolResult
from voicegraph.nodes.tools import (
    FunctionTool,
    SilentToolResult,
    StopResponse,
    ToolError,
    ToolExecutor,
    error_result,
    function_tool,
    output_text,
)
from voicegraph.runner import Runner, VirtualClock

HANG_GUARD = 30.0  # real seconds: only an upper bound so a regression fails instead of hanging


class Calls(Node):
    """Emits each ``(time, call)``; interrupts downstream at ``interrupt_at``."""

    out: Out[ToolCall]

    def __init__(self, calls: list[tuple[float, ToolCall]], interrupt_at: float | None = None):
        super().__init__()
        self.calls = calls
        self.interrupt_at = interrupt_at

    async def run(self) -> None:
        for at, call in self.calls:
            if self.interrupt_at is not None and at > self.interrupt_at >= self.clock.now():
                await self.clock.sleep_until(self.interrupt_at)
                self.interrupt("barge-in")
            await self.clock.sleep_until(at)
            await self.emit(self.out, call)


class Results(Node):
    inp: In[ToolResult]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[ToolResult] = []

    async def on_inp(self, frame: ToolResult) -> None:
        self.got.append(frame)


CLOCK: list[VirtualClock] = []  # the clock of the running graph, for tools that wait on it


async def run(tools: list[Any], calls: Calls, **settings: Any) -> list[ToolResult]:
    """Run ``calls`` through a ToolExecutor of ``tools`` under a virtual clock."""
    clock = VirtualClock()
    CLOCK.append(clock)
    executor = ToolExecutor(tools=tools, **settings)
    g = Graph()
    g.add(calls, name="calls")
    g.add(executor, name="tools")
    sink = Results()
    g.add(sink, name="sink")
    g.connect(calls.out, executor.calls)
    g.connect(executor.results, sink.inp)
    with anyio.fail_after(HANG_GUARD):
        await Runner(g, clock=clock).run()
    return sink.got


def call(call_id: str, name: str) -> ToolCall:
    return ToolCall(call_id, name, "{}")


class Unprintable:
    """A value whose ``str()`` raises (and JSON cannot express)."""

    def __str__(self) -> str:
        raise ValueError("no text for you")


class UnprintableError(Exception):
    """An exception whose ``str()`` raises."""

    def __str__(self) -> str:
        raise RuntimeError("no message either")


class VeryUnprintable:
    """A value whose ``str()`` raises an exception whose ``str()`` raises."""

    def __str__(self) -> str:
        raise UnprintableError


@function_tool
async def quits() -> str:
    """Raises CancelledError on its own: nothing cancelled the call."""
    await asyncio.sleep(0)
    raise asyncio.CancelledError


@function_tool
def quits_in_thread() -> str:
    """A sync tool that raises CancelledError in its thread."""
    raise asyncio.CancelledError("worker gave up")


@function_tool
async def returns_unprintable() -> Any:
    """Returns a value whose str() raises."""
    return Unprintable()


@function_tool
async def returns_very_unprintable() -> Any:
    """Returns a value whose str() raises an exception whose str() raises."""
    return VeryUnprintable()


@function_tool
async def raises_unprintable() -> str:
    """Raises an exception whose str() raises."""
    raise UnprintableError


@function_tool
async def fine() -> str:
    """Works."""
    return "ok"


# ---------------------------------------------------------------- item 6: CancelledError


async def test_a_tool_raising_cancelled_error_gives_an_error_result() -> None:
    calls = Calls(
        [
            (0.0, call("1", "quits")),
            (0.0, call("2", "quits_in_thread")),
            (0.0, call("3", "fine")),
        ]
    )
    got = await run([quits, quits_in_thread, fine], calls)
    assert [(r.call_id, r.is_error, r.output) for r in got] == [
        ("1", True, "tool 'quits' failed: CancelledError"),
        ("2", True, "tool 'quits_in_thread' failed: CancelledError: worker gave up"),
        ("3", False, "ok"),
    ]


async def test_a_tool_raising_cancelled_error_with_parallel_off_does_not_stall_the_next() -> None:
    calls = Calls([(0.0, call("1", "quits")), (0.0, call("2", "fine"))])
    got = await run([quits, fine], calls, parallel=False)
    assert [(r.call_id, r.is_error) for r in got] == [("1", True), ("2", False)]


@function_tool
async def stubborn() -> str:
    """Takes 5 s; when cancelled, raises a CancelledError of its own instead."""
    try:
        await CLOCK[-1].sleep(5)
    except anyio.get_cancelled_exc_class():
        raise asyncio.CancelledError("cleanup") from None
    return "done"


async def test_an_interrupt_still_cancels_a_tool_that_raises_its_own_cancelled_error() -> None:
    calls = Calls([(0.0, call("old", "stubborn")), (1.0, call("new", "fine"))], interrupt_at=0.5)
    got = await run([stubborn, fine], calls)
    assert [(r.call_id, r.output, r.epoch) for r in got] == [("new", "ok", 1)]


async def test_a_timeout_still_wins_over_a_tool_that_raises_its_own_cancelled_error() -> None:
    clock = VirtualClock()
    CLOCK.append(clock)
    async with clock.running():
        result = await stubborn.execute(call("1", "stubborn"), clock=clock, timeout=1.0)
    assert (result.is_error, result.output) == (True, "tool 'stubborn' timed out after 1 s")


@function_tool
async def quits_at_once() -> str:
    """Raises CancelledError before its first await."""
    raise asyncio.CancelledError


@pytest.mark.parametrize("tool", [quits, quits_at_once])
async def test_a_cancelled_scope_still_cancels_the_call(tool: FunctionTool) -> None:
    """Also before the cancellation was delivered (no await yet): the scope is what counts."""
    returned: list[ToolResult] = []
    with anyio.CancelScope() as scope:
        scope.cancel()
        returned.append(await tool.execute(call("1", tool.name)))
    assert returned == [] and scope.cancelled_caught


async def test_a_scope_cancelled_while_the_tool_runs_catches_its_own_cancellation() -> None:
    """The tool turns the cancellation into a fresh CancelledError: the scope still ends it."""
    started = anyio.Event()

    @function_tool
    async def stubborn_real() -> str:
        """Waits a minute; when cancelled, raises a CancelledError of its own instead."""
        started.set()
        try:
            await anyio.sleep(60)
        except anyio.get_cancelled_exc_class():
            raise asyncio.CancelledError("cleanup") from None
        return "done"  # pragma: no cover

    returned: list[ToolResult] = []
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def cancel_once_started() -> None:
                await started.wait()
                scope.cancel()

            tg.start_soon(cancel_once_started)
            returned.append(await stubborn_real.execute(call("1", "stubborn_real")))
    assert returned == [] and scope.cancelled_caught


async def test_task_cancel_still_cancels_the_call() -> None:
    """A native ``Task.cancel()`` (as ``asyncio.run`` does on Ctrl-C), no cancel scope."""

    started = asyncio.Event()

    @function_tool
    async def stubborn_real() -> str:
        """Waits a minute; when cancelled, raises a CancelledError of its own instead."""
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise asyncio.CancelledError("cleanup") from None
        return "done"  # pragma: no cover

    task = asyncio.ensure_future(stubborn_real.execute(call("1", "stubborn_real")))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
async def test_keyboard_interrupt_and_system_exit_still_propagate(exc: type) -> None:
    async def raiser() -> str:
        """Raises."""
        raise exc

    with pytest.raises(exc):
        await FunctionTool(raiser).execute(call("1", "raiser"))


# ---------------------------------------------------------------- item 7: unprintable results


async def test_a_result_whose_str_raises_gives_an_error_result_naming_the_tool() -> None:
    calls = Calls([(0.0, call("1", "returns_unprintable")), (0.0, call("2", "fine"))])
    got = await run([returns_unprintable, fine], calls)
    assert [(r.call_id, r.is_error) for r in got] == [("1", True), ("2", False)]
    assert got[0].output == (
        "tool 'returns_unprintable' returned a value of type Unprintable that cannot be "
        "turned into text (ValueError: no text for you); return a str, a pydantic model or "
        "JSON-serializable data"
    )


async def test_unprintable_exceptions_give_error_results() -> None:
    calls = Calls(
        [
            (0.0, call("1", "raises_unprintable")),
            (0.0, call("2", "returns_very_unprintable")),
            (0.0, call("3", "fine")),
        ]
    )
    got = await run([raises_unprintable, returns_very_unprintable, fine], calls)
    assert [(r.call_id, r.is_error) for r in got] == [("1", True), ("2", True), ("3", False)]
    assert got[0].output == (
        "tool 'raises_unprintable' failed: UnprintableError: "
        "<UnprintableError object; its str() raised RuntimeError>"
    )
    assert got[1].output.startswith(
        "tool 'returns_very_unprintable' returned a value of type VeryUnprintable"
    )


def test_output_text_and_error_result_never_fail_on_str() -> None:
    with pytest.raises(ToolError, match="tool 'x' returned a value of type Unprintable"):
        output_text(Unprintable(), tool="x")
    with pytest.raises(ToolError, match="^a tool returned a value of type Unprintable"):
        output_text(Unprintable())

    class Sneaky(str):
        def __str__(self) -> str:
            raise ValueError("no")

    text = output_text(Sneaky("plain"))
    assert text == "plain" and type(text) is str
    result = error_result(call("1", "x"), UnprintableError())
    assert result.is_error and result.output.startswith("tool 'x' failed: UnprintableError")


# ---------------------------------------------------------------- property


class BadModel(BaseModel):
    """A pydantic model whose serialization raises."""

    x: int = 1

    def model_dump_json(self, **kwargs: Any) -> str:
        raise RuntimeError("cannot serialize")


class CustomBase(BaseException):
    """A BaseException that is neither an Exception nor a cancellation."""


RETURNS: list[Callable[[], Any]] = [
    lambda: "text",
    lambda: None,
    lambda: 42,
    lambda: {"a": [1, 2]},
    Unprintable,
    VeryUnprintable,
    BadModel,
    object,
]
RAISES: list[Callable[[], BaseException]] = [
    lambda: ValueError("bad"),
    lambda: ToolError("told"),
    lambda: TimeoutError(),
    lambda: StopResponse(),
    UnprintableError,
    asyncio.CancelledError,
    lambda: asyncio.CancelledError("with a message"),
    CustomBase,
    lambda: BaseExceptionGroup("group", [asyncio.CancelledError()]),
    lambda: ExceptionGroup("group", [ValueError("inner")]),
    lambda: StopIteration(),
]
CLEAN_RETURNS = {0, 1, 2, 3, 7}  # indexes of RETURNS that give a normal result


@dataclass(frozen=True)
class Outcome:
    """One tool's behaviour: sync or async, waits or not, then returns or raises."""

    sync: bool
    waits: bool
    raises: bool
    index: int

    def build(self, name: str) -> FunctionTool:
        make_value = RETURNS[self.index % len(RETURNS)]
        make_error = RAISES[self.index % len(RAISES)]

        def body() -> Any:
            if self.raises:
                raise make_error()
            return make_value()

        if self.sync:

            def tool() -> Any:
                """A sync tool."""
                return body()

            return FunctionTool(tool, name=name)

        async def atool() -> Any:
            """An async tool."""
            if self.waits:
                await CLOCK[-1].sleep(0.1)
            return body()

        return FunctionTool(atool, name=name)

    @property
    def error(self) -> bool:
        if self.raises:
            return not isinstance(RAISES[self.index % len(RAISES)](), StopResponse)
        return self.index % len(RETURNS) not in CLEAN_RETURNS


outcomes = st.builds(Outcome, st.booleans(), st.booleans(), st.booleans(), st.integers(0, 10_000))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(outcomes, min_size=1, max_size=5), st.booleans())
def test_any_tool_outcome_gives_exactly_one_result_per_call(
    plan: list[Outcome], parallel: bool
) -> None:
    tools = [o.build(f"t{i}") for i, o in enumerate(plan)]
    calls = Calls([(0.0, call(str(i), t.name)) for i, t in enumerate(tools)])

    async def main() -> list[ToolResult]:
        return await run(tools, calls, parallel=parallel)

    got = anyio.run(main)
    assert [r.call_id for r in got] == [str(i) for i in range(len(plan))]
    for outcome, result in zip(plan, got, strict=True):
        assert result.is_error == outcome.error, (outcome, result)
        assert isinstance(result.output, str)
        told = outcome.raises and outcome.index % len(RAISES) == 1  # ToolError("told")
        if result.is_error and not told:  # the error names the tool
            assert f"tool '{result.name}'" in result.output, result.output
        if outcome.raises and not result.is_error:  # StopResponse
            assert isinstance(result, SilentToolResult)
