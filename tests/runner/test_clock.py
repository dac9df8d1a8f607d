"""RealClock and VirtualClock: time jumps only when every task is blocked; threads count as busy."""

from __future__ import annotations

import time

import anyio
import pytest

from voicegraph.graph import DeadlockError, Graph, In, Node, Out, RunnerError, TextFrame
from voicegraph.runner import RealClock, Runner, VirtualClock


async def test_virtual_time_jumps_to_the_next_timer() -> None:
    clock = VirtualClock()
    seen: list[tuple[str, float]] = []

    async def sleeper(name: str, delay: float) -> None:
        await clock.sleep(delay)
        seen.append((name, clock.now()))

    started = time.perf_counter()
    async with clock.running(), anyio.create_task_group() as tg:
        tg.start_soon(sleeper, "late", 60.0)
        tg.start_soon(sleeper, "early", 0.5)
        tg.start_soon(sleeper, "middle", 3.0)
    assert seen == [("early", 0.5), ("middle", 3.0), ("late", 60.0)]
    assert time.perf_counter() - started < 5  # a minute of virtual time, no real wait


async def test_virtual_time_stands_still_while_a_thread_works() -> None:
    clock = VirtualClock()
    async with clock.running():
        result = await clock.run_sync(lambda: time.sleep(0.05) or 42)
        assert result == 42
        assert clock.now() == 0.0


async def test_timer_and_thread_together() -> None:
    clock = VirtualClock()
    order: list[str] = []

    async def compute() -> None:
        await clock.run_sync(time.sleep, 0.05)
        order.append(f"compute done at {clock.now()}")

    async def timer() -> None:
        await clock.sleep(1.0)
        order.append(f"timer at {clock.now()}")

    async with clock.running(), anyio.create_task_group() as tg:
        tg.start_soon(timer)
        tg.start_soon(compute)
    assert order == ["compute done at 0.0", "timer at 1.0"]


async def test_virtual_clock_must_be_driven() -> None:
    with pytest.raises(RunnerError, match="not running"):
        await VirtualClock().sleep(1)


async def test_real_clock_advances() -> None:
    clock = RealClock()
    t0 = clock.now()
    await clock.sleep(0.01)
    assert clock.now() > t0
    assert await clock.run_sync(sum, [1, 2]) == 3


class Waiter(Node):
    inp: In[TextFrame]
    out: Out[TextFrame]

    async def on_inp(self, frame: TextFrame) -> None:
        await self.emit(self.out, frame)


class Silent(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        await anyio.Event().wait()  # waits forever for something that never comes


async def test_deadlock_is_reported_with_the_blocked_nodes() -> None:
    g = Graph()
    src, relay = g.add(Silent()), g.add(Waiter())
    g.connect(src.out, relay.inp)
    with pytest.raises(DeadlockError, match="silent"), anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()


class Chatty(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        for i in range(5):
            await self.clock.sleep(0.7)
            await self.emit(self.out, TextFrame(f"{i}@{self.clock.now():.1f}"))


class Log(Node):
    inp: In[TextFrame]
    log: list[str] = []

    async def on_inp(self, frame: TextFrame) -> None:
        type(self).log.append(f"{frame.text} seen {self.clock.now():.1f}")


async def test_same_timeline_every_run() -> None:
    timelines = []
    for _ in range(3):
        Log.log = []
        with Graph() as g:
            Chatty() >> Waiter() >> Log()
        await Runner(g, clock=VirtualClock()).run()
        timelines.append(list(Log.log))
    assert timelines[0] == timelines[1] == timelines[2]
    assert timelines[0][-1] == "4@3.5 seen 3.5"
