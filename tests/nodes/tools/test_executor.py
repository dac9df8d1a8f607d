"""ToolExecutor: parallel calls with results in call order, errors as results, interrupts."""

from __future__ import annotations

from typing import Any

import pytest

from voicegraph.graph import ConfigError, Graph, In, Node, Out, ToolCall, ToolResult
from voicegraph.nodes.tools import ToolExecutor, function_tool
from voicegraph.runner import Runner, VirtualClock

CLOCK: list[VirtualClock] = []  # the clock of the running test, for tools that wait on it


async def wait(seconds: float) -> None:
    await CLOCK[-1].sleep(seconds)


@function_tool
async def slow_lookup(key: str) -> str:
    """Takes 0.3 s.

    Args:
        key: what to look up.
    """
    await wait(0.3)
    return f"slow:{key}"


async def fast_lookup(key: str) -> str:
    """Takes 0.1 s."""
    await wait(0.1)
    return f"fast:{key}"


def broken(x: int) -> str:
    """Raises."""
    raise ValueError(f"bad x={x}")


@function_tool(timeout=1.0)
async def hangs() -> str:
    """Waits far longer than its timeout."""
    await wait(60)
    return "never"


class Calls(Node):
    """Emits (time, ToolCall) pairs; interrupts downstream at the times in ``interrupt_at``."""

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
        self.got: list[tuple[float, ToolResult]] = []

    async def on_inp(self, frame: ToolResult) -> None:
        self.got.append((self.clock.now(), frame))


async def run(executor: ToolExecutor, calls: Calls) -> Results:
    clock = VirtualClock()
    CLOCK.append(clock)
    g = Graph()
    g.add(calls, name="calls")
    g.add(executor, name="tools")
    sink = g.add(Results(), name="sink")
    g.connect(calls.out, executor.calls)
    g.connect(executor.results, sink.inp)
    await Runner(g, clock=clock).run()
    return sink


def call(call_id: str, name: str, arguments: str = '{"key": "k"}') -> ToolCall:
    return ToolCall(call_id, name, arguments)


def test_config_stores_import_paths_and_keeps_other_tools_aside() -> None:
    def local(x: int) -> int:
        """Not importable."""
        return x

    ex = ToolExecutor(tools=[slow_lookup, fast_lookup, f"{__name__}:broken", local], timeout=5)
    assert ex.config.tools == [
        f"{__name__}:slow_lookup",
        f"{__name__}:fast_lookup",
        f"{__name__}:broken",
    ]
    assert list(ex.tools) == ["slow_lookup", "fast_lookup", "broken", "local"]
    g = Graph()
    g.add(ex, name="tools")
    data = g.to_dict()
    again = Graph.from_dict(data, allow=[__name__])["tools"]  # a file names allowed tools only
    assert isinstance(again, ToolExecutor)
    assert list(again.tools) == ["slow_lookup", "fast_lookup", "broken"]  # `local` is not saved


def test_bad_tool_paths_fail_at_construction() -> None:
    with pytest.raises(ConfigError, match="cannot import module 'no_such_module'"):
        ToolExecutor(tools=["no_such_module:f"])
    with pytest.raises(ConfigError, match="timeout"):
        ToolExecutor(timeout=0)


async def test_parallel_calls_results_in_call_order() -> None:
    ex = ToolExecutor(tools=[slow_lookup, fast_lookup])
    calls = Calls([(0.0, call("a", "slow_lookup")), (0.0, call("b", "fast_lookup"))])
    sink = await run(ex, calls)
    assert [(t, r.call_id, r.output) for t, r in sink.got] == [
        (pytest.approx(0.3), "a", "slow:k"),
        (pytest.approx(0.3), "b", "fast:k"),  # finished at 0.1, emitted after "a"
    ]


async def test_sequential_when_not_parallel() -> None:
    ex = ToolExecutor(tools=[slow_lookup, fast_lookup], parallel=False)
    calls = Calls([(0.0, call("a", "slow_lookup")), (0.0, call("b", "fast_lookup"))])
    sink = await run(ex, calls)
    assert [(t, r.call_id) for t, r in sink.got] == [
        (pytest.approx(0.3), "a"),
        (pytest.approx(0.4), "b"),
    ]


async def test_errors_become_results_and_the_run_goes_on() -> None:
    ex = ToolExecutor(tools=[slow_lookup, broken, hangs], timeout=5.0)
    calls = Calls(
        [
            (0.0, call("1", "broken", '{"x": 3}')),
            (0.0, call("2", "nope")),
            (0.0, call("3", "slow_lookup", "{not json")),
            (0.0, call("4", "hangs", "{}")),
            (0.0, call("5", "slow_lookup", '{"wrong": 1}')),
            (0.0, call("6", "slow_lookup")),
        ]
    )
    sink = await run(ex, calls)
    by_id: dict[str, Any] = {r.call_id: r for _, r in sink.got}
    assert [r.call_id for _, r in sink.got] == ["1", "2", "3", "4", "5", "6"]
    assert all(by_id[i].is_error for i in "12345")
    assert by_id["1"].output == "tool 'broken' failed: ValueError: bad x=3"
    assert by_id["2"].output == ("unknown tool 'nope'; available tools: slow_lookup, broken, hangs")
    assert "not valid JSON" in by_id["3"].output
    assert by_id["4"].output == "tool 'hangs' timed out after 1 s"  # the tool's own timeout
    assert "key: Field required" in by_id["5"].output
    assert (by_id["6"].is_error, by_id["6"].output) == (False, "slow:k")
    assert sink.got[-1][0] == pytest.approx(1.0)  # everything ran in parallel


async def test_config_timeout_applies_to_tools_without_their_own() -> None:
    ex = ToolExecutor(tools=[slow_lookup], timeout=0.2)
    sink = await run(ex, Calls([(0.0, call("a", "slow_lookup"))]))
    ((t, result),) = sink.got
    assert result.is_error and result.output == "tool 'slow_lookup' timed out after 0.2 s"
    assert t == pytest.approx(0.2)


async def test_interrupt_cancels_calls_in_flight() -> None:
    ex = ToolExecutor(tools=[slow_lookup, fast_lookup])
    calls = Calls(
        [(0.0, call("old", "slow_lookup")), (0.5, call("new", "fast_lookup"))],
        interrupt_at=0.2,
    )
    sink = await run(ex, calls)
    assert [(t, r.call_id, r.epoch) for t, r in sink.got] == [(pytest.approx(0.6), "new", 1)]
